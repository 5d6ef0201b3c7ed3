// Types for kafka-secure.mjs, so TypeScript tests can import it.
import type { Admin } from 'kafkajs'
import type { SecureSettings } from './stack.mjs'

export declare const SECURE: { name: string, address: string, dir: string }
export declare const SECURE_USERS: Record<keyof SecureSettings['users'], string[]>
/** stack/.run/kafka-secure/secure.json, or null when the secure broker was never started. */
export function secureSettings (): SecureSettings | null
/** A kafkajs admin of the secure broker as its super user `admin` (not connected). */
export function secureAdmin (settings: SecureSettings, clientId?: string): Admin
export function secureAnswers (settings: SecureSettings | null): Promise<boolean>
