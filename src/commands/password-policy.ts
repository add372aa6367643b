import { dictionary } from '@zxcvbn-ts/language-common';
import { normalisePassword } from '../infra/password-hasher';

/**
 * NIST SP 800-63B-4 3.1.1.2 (and OWASP ASVS 5.0 V6.2): 8 to 128 characters of any kind, counted as
 * Unicode code points after NFKC normalisation (the form that is hashed), no composition rules,
 * and not one of the commonly used or breached passwords. Checked at registration, reset and
 * change; sign-in compares whatever it is given.
 */
export const PASSWORD_MIN_CHARS = 8;
export const PASSWORD_MAX_CHARS = 128;

/** Bounds the normalisation work: NFKC expands a character to at most 18, so this is generous. */
const MAX_RAW_UTF16_UNITS = 1024;

let common: ReadonlySet<string> | null = null;

/** zxcvbn-ts's list of common passwords (about 49,000, from breach corpora), all lower case. */
export const commonPasswords = (): ReadonlySet<string> => (common ??= new Set(dictionary['passwords-common']));

export const isCommonPassword = (password: string): boolean => commonPasswords().has(normalisePassword(password).toLowerCase());

/** What is wrong with a new password, as a sentence about `field`, or null when it is acceptable. */
export function passwordProblem(password: string, field = 'password'): string | null {
  if (password.length > MAX_RAW_UTF16_UNITS) return `${field} must be at most ${PASSWORD_MAX_CHARS} characters`;
  const chars = [...normalisePassword(password)].length;
  if (chars < PASSWORD_MIN_CHARS) return `${field} must be at least ${PASSWORD_MIN_CHARS} characters`;
  if (chars > PASSWORD_MAX_CHARS) return `${field} must be at most ${PASSWORD_MAX_CHARS} characters`;
  if (isCommonPassword(password)) return `${field} is too common: it appears in lists of leaked passwords, so choose another`;
  return null;
}
