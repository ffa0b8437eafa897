/**
 * The renderer's Content-Security-Policy, the same under Electron's app:// protocol and browser mode:
 * scripts, styles and connections only from the studio itself. Inline style *attributes* are allowed
 * (chart tooltips set them); inline scripts and <style> elements are not.
 */
export const RENDERER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "style-src-attr 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
