/**
 * A last-line guard against printing secrets.
 *
 * devenv's own events never carry secrets (generated passwords and keys stay in the state
 * directory, mode 0600), but a failing command's output or a container's log line may echo
 * one. Every printer passes text through `redact` so values that LOOK like credentials
 * (password=..., token: ..., user:pass@ in URLs, PEM private keys) never reach the terminal
 * or a CI log. It is a guard, not a guarantee: it recognises shapes, not secrets.
 */

const KEYS =
  '(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|access[_-]?key(?:[_-]?id)?|secret[_-]?access[_-]?key|secret[_-]?key|private[_-]?key|client[_-]?secret|auth)';

// key=value / key: value / "key": "value", with the key possibly prefixed (DB_PASSWORD, MINIO_ROOT_PASSWORD).
const KV_RE = new RegExp(
  `((?<![A-Za-z0-9])(?:[A-Za-z0-9]+[_.-])*${KEYS}["']?\\s*[=:]\\s*)("[^"]*"|'[^']*'|[^\\s,;&"'}]+)`,
  'gi',
);
// scheme://user:password@host
const URL_CRED_RE = /([a-z][a-z0-9+.-]*:\/\/[^:/\s@]+:)([^@\s/]+)(@)/gi;
// -----BEGIN ... PRIVATE KEY----- ... (possibly cut)
const PEM_RE = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g;
// Authorization: Bearer xyz
const BEARER_RE = /\b(bearer\s+)[A-Za-z0-9._~+/-]+=*/gi;

export const REDACTED = '***';

export function redact(text: string): string {
  if (text === '') return text;
  let out = text;
  if (out.includes('PRIVATE KEY')) out = out.replace(PEM_RE, `[redacted private key]`);
  if (out.includes('://')) out = out.replace(URL_CRED_RE, `$1${REDACTED}$3`);
  out = out.replace(KV_RE, (_m, key: string, value: string) => {
    const q = value[0] === '"' || value[0] === "'" ? value[0] : '';
    return `${key}${q}${REDACTED}${q}`;
  });
  out = out.replace(BEARER_RE, `$1${REDACTED}`);
  return out;
}
