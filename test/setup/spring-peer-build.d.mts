// Types for spring-peer-build.mjs, so the TypeScript tests can import it.

/** Builds the Spring interop peer when needed and returns its Java classpath. */
export function buildSpringPeer (): string
