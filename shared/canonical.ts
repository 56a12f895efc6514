import { sha256 } from '@noble/hashes/sha256';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';

/** JSON with object keys sorted at every level, so equal values always serialize the same way. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The hash an approval binds to: tool name and canonical arguments (pure JS, safe in the sandbox). */
export function argsHash(tool: string, args: Record<string, unknown>): string {
  return bytesToHex(sha256(utf8ToBytes(`${tool}\n${canonicalJson(args)}`)));
}

/** Field-by-field differences between two argument objects (top-level keys and nested paths). */
export function diffArgs(before: unknown, after: unknown, path = ''): { path: string; before: unknown; after: unknown }[] {
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => diffArgs(before[k], after[k], path ? `${path}.${k}` : k));
  }
  return canonicalJson(before) === canonicalJson(after) ? [] : [{ path: path || '(root)', before, after }];
}
