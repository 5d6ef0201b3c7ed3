package interop;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.annotation.EnableKafka;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.core.ProducerFactory;
import org.springframework.kafka.listener.ConcurrentMessageListenerContainer;
import org.springframework.kafka.listener.ConsumerAwareRebalanceListener;
import org.springframework.kafka.listener.ContainerProperties;
import org.springframework.kafka.listener.KafkaListenerErrorHandler;
import org.springframework.kafka.requestreply.ReplyingKafkaTemplate;
import org.springframework.kafka.support.TopicPartitionOffset;
import org.springframework.messaging.handler.annotation.SendTo;
import org.springframework.messaging.support.MessageBuilder;

/**
 * A Spring Kafka peer for the interop tests, in one JVM: {@code @KafkaListener} + {@code @SendTo}
 * repliers (the way a Spring team writes one, String serdes) and {@code ReplyingKafkaTemplate}
 * callers. Topics and groups come as system properties. It prints {@code ready} once every listener
 * and reply container has its partitions, then reads commands from stdin:
 * {@code call <id> <caller> <topic> <json>} answers {@code reply <id> <partition> <value>} or
 * {@code error <id> <message>} on stdout.
 */
public final class SpringPeer {
  /** The listeners: echo, fail without an error handler, fail with one, and a reply that is not JSON. */
  static final int LISTENERS = 4;
  static final Set<String> assigned = ConcurrentHashMap.newKeySet();

  static String prop(String name) {
    String value = System.getProperty(name);
    if (value == null) throw new IllegalArgumentException("missing -D" + name);
    return value;
  }

  @Configuration
  @EnableKafka
  public static class Config {
    @Bean
    public ProducerFactory<String, String> producerFactory() {
      Map<String, Object> props = new HashMap<>();
      props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, prop("brokers"));
      props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
      props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
      props.put(ProducerConfig.LINGER_MS_CONFIG, 0);
      return new DefaultKafkaProducerFactory<>(props);
    }

    @Bean
    public KafkaTemplate<String, String> kafkaTemplate(ProducerFactory<String, String> producerFactory) {
      return new KafkaTemplate<>(producerFactory);
    }

    @Bean
    public ConsumerFactory<String, String> consumerFactory() {
      Map<String, Object> props = new HashMap<>();
      props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, prop("brokers"));
      props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
      props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
      // The topics are new: nothing written before a group's first fetch may be skipped.
      props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
      props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500);
      return new DefaultKafkaConsumerFactory<>(props);
    }

    @Bean
    public ConcurrentKafkaListenerContainerFactory<String, String> kafkaListenerContainerFactory(
        ConsumerFactory<String, String> consumerFactory, KafkaTemplate<String, String> kafkaTemplate) {
      ConcurrentKafkaListenerContainerFactory<String, String> factory = new ConcurrentKafkaListenerContainerFactory<>();
      factory.setConsumerFactory(consumerFactory);
      // What @SendTo replies with.
      factory.setReplyTemplate(kafkaTemplate);
      factory.getContainerProperties().setConsumerRebalanceListener(new ConsumerAwareRebalanceListener() {
        @Override
        public void onPartitionsAssigned(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
          for (TopicPartition partition : partitions) assigned.add(partition.topic());
        }
      });
      return factory;
    }

    /**
     * What a Spring team adds so that a failed listener still answers its caller: an error reply
     * the plugin understands ({@code kafka_replyError}, JSON). The header value must be bytes: the
     * header mapper drops String values. Spring fills in the topic, partition and correlation id.
     */
    @Bean
    public KafkaListenerErrorHandler replyWithError() {
      return (message, exception) -> {
        Throwable cause = exception.getCause() != null ? exception.getCause() : exception;
        String error = "{\"message\":" + quote(cause.getMessage()) + ",\"code\":\"SPRING_FAILED\",\"statusCode\":422}";
        return MessageBuilder.withPayload("null")
            .setHeader("kafka_replyError", error.getBytes(StandardCharsets.UTF_8))
            .build();
      };
    }

    @Bean
    public Listeners listeners() {
      return new Listeners();
    }
  }

  public static class Listeners {
    @KafkaListener(topics = "#{systemProperties['echo.topic']}", groupId = "#{systemProperties['group']}-echo")
    @SendTo
    public String echo(String payload) {
      return "{\"echo\":" + payload + ",\"by\":\"spring\"}";
    }

    @KafkaListener(topics = "#{systemProperties['fail.topic']}", groupId = "#{systemProperties['group']}-fail")
    @SendTo
    public String fail(String payload) {
      throw new IllegalStateException("the Spring listener failed");
    }

    @KafkaListener(topics = "#{systemProperties['handled.topic']}", groupId = "#{systemProperties['group']}-handled", errorHandler = "replyWithError")
    @SendTo
    public String failHandled(String payload) {
      throw new IllegalStateException("the Spring listener failed");
    }

    @KafkaListener(topics = "#{systemProperties['text.topic']}", groupId = "#{systemProperties['group']}-text")
    @SendTo
    public String text(String payload) {
      return "OK, done";
    }
  }

  static String quote(String text) {
    String value = text == null ? "" : text;
    return "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  /**
   * A caller: reads its replies from {@code replyTopic} in a group of its own, or, with a partition,
   * from that partition alone, in which case the template sends {@code kafka_replyPartition} (a 4-byte
   * int). A reply carrying {@code kafka_replyError} completes the call exceptionally.
   */
  static ReplyingKafkaTemplate<String, String, String> caller(AnnotationConfigApplicationContext context, String replyTopic, String group, Integer partition) {
    @SuppressWarnings("unchecked")
    ConsumerFactory<String, String> consumerFactory = context.getBean(ConsumerFactory.class);
    @SuppressWarnings("unchecked")
    ProducerFactory<String, String> producerFactory = context.getBean(ProducerFactory.class);
    ContainerProperties properties = partition == null
        ? new ContainerProperties(replyTopic)
        : new ContainerProperties(new TopicPartitionOffset(replyTopic, partition));
    properties.setGroupId(group);
    ConcurrentMessageListenerContainer<String, String> container = new ConcurrentMessageListenerContainer<>(consumerFactory, properties);
    ReplyingKafkaTemplate<String, String, String> template = new ReplyingKafkaTemplate<>(producerFactory, container);
    template.setDefaultReplyTimeout(Duration.ofSeconds(10));
    template.setReplyErrorChecker(record -> {
      Header error = record.headers().lastHeader("kafka_replyError");
      return error == null ? null : new IllegalStateException(new String(error.value(), StandardCharsets.UTF_8));
    });
    template.start();
    return template;
  }

  public static void main(String[] args) throws Exception {
    AnnotationConfigApplicationContext context = new AnnotationConfigApplicationContext(Config.class);
    Map<String, ReplyingKafkaTemplate<String, String, String>> callers = new HashMap<>();
    callers.put("group", caller(context, prop("caller.replyTopic"), prop("group") + "-caller", null));
    callers.put("pinned", caller(context, prop("pinned.replyTopic"), prop("group") + "-pinned", 1));
    for (ReplyingKafkaTemplate<String, String, String> template : callers.values()) {
      if (!template.waitForAssignment(Duration.ofSeconds(60))) throw new IllegalStateException("reply container not assigned");
    }
    long giveUp = System.currentTimeMillis() + 60_000;
    while (assigned.size() < LISTENERS) {
      if (System.currentTimeMillis() > giveUp) throw new IllegalStateException("listeners not assigned: " + assigned);
      Thread.sleep(20);
    }
    System.out.println("ready");
    System.out.flush();

    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      String[] parts = line.split(" ", 5);
      if (parts.length != 5 || !parts[0].equals("call")) continue;
      String id = parts[1];
      ReplyingKafkaTemplate<String, String, String> template = callers.get(parts[2]);
      template.sendAndReceive(new ProducerRecord<>(parts[3], parts[4])).whenComplete((ConsumerRecord<String, String> reply, Throwable error) -> {
        String out = error == null
            ? "reply " + id + " " + reply.partition() + " " + reply.value()
            : "error " + id + " " + String.valueOf(error.getMessage()).replace('\n', ' ');
        synchronized (System.out) {
          System.out.println(out);
          System.out.flush();
        }
      });
    }
    // stdin closed: the test is done with this peer.
    for (ReplyingKafkaTemplate<String, String, String> template : callers.values()) template.stop();
    context.close();
    System.exit(0);
  }
}
