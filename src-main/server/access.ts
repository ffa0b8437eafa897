/**
 * Who may talk to browser mode. The server listens on loopback only; on top of that every request
 * must carry the random token printed at start (as `Authorization: Bearer`, or as the cookie the
 * printed link sets), must name a loopback Host (a DNS-rebinding page cannot), and state-changing
 * requests and the event socket must come from the studio's own origin.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export function createToken(): string {
  return randomBytes(24).toString('base64url');
}

export function cookieName(port: number): string {
  // Cookies ignore ports: two studios on one machine must not overwrite each other's.
  return `selfemd_token_${port}`;
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

export interface AccessPolicy {
  token: string;
  port: number;
}

/** The token the request carries (header first, then cookie), or null. */
export function presentedToken(req: IncomingMessage, policy: AccessPolicy): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  return cookies(req).get(cookieName(policy.port)) ?? null;
}

export function hasValidToken(req: IncomingMessage, policy: AccessPolicy): boolean {
  const t = presentedToken(req, policy);
  return t !== null && sameToken(t, policy.token);
}

export function isValidToken(candidate: string | null, policy: AccessPolicy): boolean {
  return candidate !== null && sameToken(candidate, policy.token);
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The Host header names a loopback address (any port: an SSH tunnel may map another one). */
export function isLoopbackHost(req: IncomingMessage): boolean {
  const host = req.headers.host;
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
  return LOOPBACK_HOSTS.has(name.toLowerCase());
}

/** No Origin (a non-browser client), or the page's own origin. */
export function isSameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  return origin === `http://${req.headers.host}`;
}

export function sessionCookie(policy: AccessPolicy): string {
  return `${cookieName(policy.port)}=${policy.token}; HttpOnly; SameSite=Strict; Path=/`;
}
