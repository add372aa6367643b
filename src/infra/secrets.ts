import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isStrongSecret } from '../config';

/** Secrets generated for development, so `npm run dev` works without any setup. */
export interface DevSecrets {
  jwtSecret: string;
  tokenSecret: string;
}

const FILE_NAME = 'secrets.json';
const OWNER_ONLY = 0o600;

const generate = (): string => randomBytes(48).toString('base64url');

const errorCode = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;

function readSecrets(file: string): DevSecrets | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return null;
    throw e;
  }
  const invalid = new Error(`${file} is not a valid secrets file: delete it to generate new development secrets.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid;
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid;
  const { jwtSecret, tokenSecret } = parsed as Record<string, unknown>;
  if (typeof jwtSecret !== 'string' || typeof tokenSecret !== 'string') throw invalid;
  if (!isStrongSecret(jwtSecret) || !isStrongSecret(tokenSecret)) throw invalid;
  // The file may have been copied around with a looser mode; keep it private to its owner.
  try {
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, OWNER_ONLY);
  } catch {
    // Not ours to change (another owner, read-only mount): reading it still works.
  }
  return { jwtSecret, tokenSecret };
}

/**
 * Returns the development secrets kept in `<dataDir>/secrets.json`, generating them on the first
 * start. Reusing them keeps tokens and one-time links valid across restarts. The file is published
 * with a hard link of a complete temporary file, so processes starting together agree on one pair
 * and never read a half-written file.
 */
export function loadOrCreateDevSecrets(dataDir: string): DevSecrets {
  const file = path.join(dataDir, FILE_NAME);
  const existing = readSecrets(file);
  if (existing) return existing;

  mkdirSync(dataDir, { recursive: true });
  const fresh: DevSecrets = { jwtSecret: generate(), tokenSecret: generate() };
  const content = `${JSON.stringify(fresh, null, 2)}\n`;
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, content, { mode: OWNER_ONLY, flag: 'wx' });
  try {
    linkSync(tmp, file);
    return fresh;
  } catch (e) {
    const code = errorCode(e);
    if (code === 'EEXIST') {
      const winner = readSecrets(file);
      if (winner) return winner;
      throw e;
    }
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
      // A filesystem without hard links: fall back to an exclusive create.
      writeFileSync(file, content, { mode: OWNER_ONLY, flag: 'wx' });
      return fresh;
    }
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
}
