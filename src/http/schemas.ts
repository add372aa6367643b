import * as yup from 'yup';
import { PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, passwordProblem } from '../commands/password-policy';

/** Request schemas shared by routes (and, later, the OpenAPI document). */
const MAX_EMAIL = 254;

/**
 * A pattern test that runs only on strings within `max`. yup runs every test of a field even
 * after `.max()` failed, so an uncapped pattern would still see a 64 KiB string; the length
 * error is reported by `.max()`.
 */
const capped = (max: number, re: RegExp, message: string) => ({
  name: 'pattern',
  message,
  // In the test's params, the regex shows in describe() and so in the OpenAPI document.
  params: { regex: re },
  test: (v: string | undefined) => v === undefined || v === null || v.length > max || re.test(v),
});

// Linear: the domain's labels cannot contain the dot that separates them, so nothing backtracks.
const EMAIL = /^[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+$/;

export const email = () =>
  yup
    .string()
    .trim()
    .max(MAX_EMAIL)
    .test(capped(MAX_EMAIL, EMAIL, '${path} must be a valid email'));

/** A new password (registration, reset, change): see src/commands/password-policy.ts. */
export const password = () =>
  yup
    .string()
    .meta({
      jsonSchema: {
        minLength: PASSWORD_MIN_CHARS,
        maxLength: PASSWORD_MAX_CHARS,
        description: `${PASSWORD_MIN_CHARS} to ${PASSWORD_MAX_CHARS} characters of any kind (Unicode, NFKC); not a commonly used or leaked password`,
      },
    })
    .test('password-policy', '${path} is not an acceptable password', function (v) {
      const problem = v === undefined || v === null ? null : passwordProblem(v, this.path);
      return problem === null || this.createError({ message: problem });
    });

export const username = () =>
  yup
    .string()
    .trim()
    .min(3)
    .max(32)
    .test(capped(32, /^[A-Za-z0-9][A-Za-z0-9._-]*$/, '${path} may contain letters, digits, dot, dash and underscore'));

export const personName = () => yup.string().trim().max(100);

const MAX_PROFILE_BYTES = 8 * 1024;

export const profileObject = () =>
  yup
    .mixed<Record<string, unknown>>()
    .meta({ jsonSchema: { type: 'object', description: `any JSON object, at most ${MAX_PROFILE_BYTES} bytes as JSON` } })
    .test(
      'is-object',
      '${path} must be a JSON object',
      (v) => v === undefined || v === null || (typeof v === 'object' && !Array.isArray(v)),
    )
    .test(
      'size',
      `\${path} must be at most ${MAX_PROFILE_BYTES} bytes of JSON`,
      (v) => v === undefined || v === null || Buffer.byteLength(JSON.stringify(v)) <= MAX_PROFILE_BYTES,
    );

export const registerSchema = yup.object({
  email: email().required(),
  password: password().required(),
  name: personName().optional(),
  firstName: personName().optional(),
  lastName: personName().optional(),
  username: username().optional(),
  profile: profileObject().optional(),
  deviceId: yup.string().trim().max(128).optional(),
});

export const tokenEmailSchema = yup.object({
  token: yup.string().trim().max(512).required(),
  email: email().required(),
});

export const emailOnlySchema = yup.object({ email: email().required() });

export const loginSchema = yup
  .object({
    email: yup.string().trim().max(MAX_EMAIL).optional(),
    username: yup.string().trim().max(64).optional(),
    login: yup.string().trim().max(MAX_EMAIL).optional(),
    password: yup.string().max(1024).required(),
    deviceId: yup.string().trim().max(128).optional(),
  })
  .test('identifier', 'one of email, username or login is required', function (v) {
    return v.email || v.username || v.login
      ? true
      : this.createError({ path: 'email', message: 'one of email, username or login is required' });
  });

export const refreshSchema = yup.object({ refreshToken: yup.string().trim().max(512).optional() });

export const resetPasswordSchema = yup.object({
  token: yup.string().trim().max(512).required(),
  email: email().required(),
  password: password().required(),
});

export const changePasswordSchema = yup.object({
  currentPassword: yup.string().max(1024).required(),
  newPassword: password().required(),
});

export const profileUpdateSchema = yup.object({
  name: personName().nullable().optional(),
  firstName: personName().nullable().optional(),
  lastName: personName().nullable().optional(),
  username: username().nullable().optional(),
  profile: profileObject().nullable().optional(),
  email: email().optional(),
  currentPassword: yup.string().max(1024).optional(),
});

export const deactivateSchema = yup.object({ currentPassword: yup.string().max(1024).required() });

export const listParams = (sortable: readonly string[]) =>
  yup.object({
    page: yup.number().integer().min(1).max(100000).default(1),
    limit: yup.number().integer().min(1).max(100).default(20),
    sort: yup
      .string()
      .max(64)
      .oneOf([...sortable, ...sortable.map((s) => `-${s}`)], `\${path} must be one of: ${sortable.join(', ')} (prefix - for descending)`)
      .optional(),
  });
