/**
 * The desktop app's SecretBox (store/secret-box.ts): cluster tokens sealed with Electron's
 * safeStorage, i.e. the Keychain (macOS), DPAPI (Windows) or the Secret Service / KWallet (Linux).
 * None where safeStorage cannot encrypt, or where on Linux it would only use its fixed built-in key
 * ('basic_text': no keyring running), which protects nothing: the token then stays in the
 * owner-only database, as in the CLI.
 */
import type { SafeStorage } from 'electron';
import type { SecretBox } from '../store';

export function safeStorageBox(safeStorage: SafeStorage): SecretBox | undefined {
  if (!safeStorage.isEncryptionAvailable()) return undefined;
  const backend = process.platform === 'linux' ? safeStorage.getSelectedStorageBackend() : process.platform;
  if (backend === 'basic_text' || backend === 'unknown') return undefined;
  return {
    name: `Electron safeStorage (${backend})`,
    seal: (plain) => safeStorage.encryptString(plain),
    open: (sealed) => safeStorage.decryptString(sealed),
  };
}
