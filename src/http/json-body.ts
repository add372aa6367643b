import { Next } from 'koa';
import { DomainError } from '../errors';
import { Ctx } from './types';

/** Keys that mean something to JavaScript's object model, never to this API. */
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'];

/** Deeper than any document of ours; also keeps recursive code (JSON.stringify) far from the stack limit. */
export const MAX_JSON_DEPTH = 32;

/**
 * Removes `constructor` and `prototype` keys at every level of a parsed body (the parser already
 * refuses `__proto__` with a 400; removed here too should that ever change), so no later merge
 * or assignment can reach an object's prototype through them (prototype pollution), and refuses
 * bodies nested deeper than MAX_JSON_DEPTH. Iterative: a deep body cannot overflow the stack.
 */
export function sanitiseJson(value: unknown): void {
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
  while (stack.length) {
    const { v, depth } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) {
      throw new DomainError('VALIDATION_FAILED', 'The body is nested too deeply', [
        { path: '', message: `JSON may be nested at most ${MAX_JSON_DEPTH} levels deep` },
      ]);
    }
    const o = v as Record<string, unknown>;
    for (const k of PROTOTYPE_KEYS) if (Object.prototype.hasOwnProperty.call(o, k)) delete o[k];
    for (const child of Object.values(o)) if (child !== null && typeof child === 'object') stack.push({ v: child, depth: depth + 1 });
  }
}

/** After the body parser: the parsed JSON, made harmless before any route sees it. */
export async function sanitiseBody(ctx: Ctx, next: Next): Promise<void> {
  sanitiseJson((ctx.request as { body?: unknown }).body);
  await next();
}
