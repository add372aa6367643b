import * as yup from 'yup';
import { regexToPattern, yupToJsonSchema, yupToQueryParameters } from '../../src/http/openapi/yup-to-json-schema';
import { loginSchema, registerSchema } from '../../src/http/schemas';

describe('yup → JSON Schema', () => {
  it('maps objects, required fields, types, bounds and defaults', () => {
    const s = yup.object({
      name: yup.string().trim().min(2).max(10).required(),
      age: yup.number().integer().min(0).max(150).optional(),
      score: yup.number().moreThan(0).lessThan(1),
      ok: yup.boolean().default(false),
      tags: yup.array(yup.string().max(5).required()).min(1).max(3).default([]),
    });
    expect(yupToJsonSchema(s)).toEqual({
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 2, maxLength: 10 },
        age: { type: 'integer', minimum: 0, maximum: 150 },
        score: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
        ok: { type: 'boolean', default: false },
        tags: { type: 'array', items: { type: 'string', maxLength: 5 }, minItems: 1, maxItems: 3, default: [] },
      },
      required: ['name'],
    });
  });

  it('maps nullable, oneOf, notOneOf, formats and mixed', () => {
    const s = yup.object({
      role: yup.string().oneOf(['a', 'b']).nullable(),
      not: yup.string().notOneOf(['x']),
      at: yup.string().datetime(),
      mail: yup.string().email(),
      id: yup.string().uuid(),
      anything: yup.mixed(),
      when: yup.date(),
    });
    const props = yupToJsonSchema(s).properties as Record<string, unknown>;
    expect(props.role).toEqual({ type: ['string', 'null'], enum: ['a', 'b', null] });
    expect(props.not).toEqual({ type: 'string', not: { enum: ['x'] } });
    expect(props.at).toEqual({ type: 'string', format: 'date-time' });
    expect(props.mail).toEqual({ type: 'string', format: 'email' });
    expect(props.id).toEqual({ type: 'string', format: 'uuid' });
    expect(props.anything).toEqual({});
    expect(props.when).toEqual({ type: 'string', format: 'date-time' });
  });

  it('takes patterns from matches() and from any test whose params carry a regex', () => {
    const custom = yup.string().test({ name: 'pattern', params: { regex: /^[a-z]+$/ }, test: () => true });
    const s = yup.object({
      a: yup.string().matches(/^\d+$/),
      b: custom,
      c: yup
        .string()
        .matches(/^a/)
        .test({ name: 'ends', params: { regex: /b$/ }, test: () => true }),
    });
    const props = yupToJsonSchema(s).properties as Record<string, Record<string, unknown>>;
    expect(props.a.pattern).toBe('^\\d+$');
    expect(props.b.pattern).toBe('^[a-z]+$');
    expect(props.c.allOf).toEqual([{ pattern: '^a' }, { pattern: 'b$' }]);
  });

  it('merges meta({ jsonSchema, description }) last, before nullability', () => {
    const s = yup
      .mixed()
      .meta({ jsonSchema: { type: 'object' }, description: 'a thing' })
      .nullable();
    expect(yupToJsonSchema(s)).toEqual({ type: ['object', 'null'], description: 'a thing' });
  });

  it('describes the routes’ own schemas (register, login)', () => {
    const register = yupToJsonSchema(registerSchema);
    expect(register.required).toEqual(['email', 'password']);
    const props = register.properties as Record<string, Record<string, unknown>>;
    expect(props.email).toMatchObject({ type: 'string', maxLength: 254, pattern: expect.any(String) });
    expect(new RegExp(props.email.pattern as string, 'u').test('ada@example.com')).toBe(true);
    expect(new RegExp(props.email.pattern as string, 'u').test('ada@example')).toBe(false);
    expect(props.password).toMatchObject({ minLength: 8, maxLength: 128 });
    expect(props.username).toMatchObject({ minLength: 3, maxLength: 32, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });
    expect(props.profile).toMatchObject({ type: 'object' });
    expect(yupToJsonSchema(loginSchema).required).toEqual(['password']);
  });

  it('turns an object schema into query parameters', () => {
    const params = yupToQueryParameters(
      yup.object({ q: yup.string().optional(), page: yup.number().integer().default(1), must: yup.string().required() }),
    );
    expect(params).toEqual([
      { name: 'q', in: 'query', required: false, schema: { type: 'string' } },
      { name: 'page', in: 'query', required: false, schema: { type: 'integer', default: 1 } },
      { name: 'must', in: 'query', required: true, schema: { type: 'string' } },
    ]);
  });

  it('refuses what it cannot express', () => {
    expect(() => yupToJsonSchema(yup.object({ a: yup.lazy(() => yup.string()) }))).toThrow(/lazy/);
    expect(() => regexToPattern(/^a$/m)).toThrow(/m flag/);
  });
});

describe('JS regex → JSON Schema pattern', () => {
  const cases: [RegExp, string, string[], string[]][] = [
    [/^[0-9a-f]{8}$/i, '^[A-F0-9a-f]{8}$', ['deadBEEF'], ['deadbeeg']],
    [/^[a-z][a-z0-9:._-]*$/i, '^[A-Za-z][A-Za-z0-9:._-]*$', ['Billing:Read', 'x-y'], ['1abc', 'a b']],
    [/^abc$/i, '^[aA][bB][cC]$', ['AbC'], ['abd']],
    [/^a.b$/s, '^a[\\s\\S]b$', ['a\nb'], ['ab']],
    [/^[^\u0000-\u001f\u007f]*$/, '^[^\\u0000-\\u001f\\u007f]*$', ['plain'], ['tab\there']],
    [/^(?<word>[a-z]+)\d$/i, '^(?<word>[A-Za-z]+)\\d$', ['Ab1'], ['Ab']],
    [/^[^\s@]+@x$/g, '^[^\\s@]+@x$', ['a@x'], ['a b@x']],
  ];
  it.each(cases)('%s', (re, pattern, matching, notMatching) => {
    expect(regexToPattern(re)).toBe(pattern);
    const u = new RegExp(pattern, 'u');
    for (const m of matching) expect([m, u.test(m)]).toEqual([m, true]);
    for (const m of notMatching) expect([m, u.test(m)]).toEqual([m, false]);
    // The same answers as the JS regex itself.
    for (const m of [...matching, ...notMatching]) expect(u.test(m)).toBe(new RegExp(re.source, re.flags.replace('g', '')).test(m));
  });
});
