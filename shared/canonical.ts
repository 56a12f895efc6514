import { sha256 } from '@noble/hashes/sha256';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';

/** An open array or object while canonicalJson walks a value: its members and how many are written. */
type Open = { close: ']'; members: unknown[]; next: number } | { close: '}'; members: [string, unknown][]; next: number };

/**
 * JSON with object keys sorted at every level, so equal values always serialize the same way. It walks
 * with its own stack rather than recursing, so any depth a JSON parser accepts serializes (a recursive
 * walk overflowed the call stack at a few thousand levels, and a workflow hashing a model's arguments
 * must not fail on their shape).
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  const open: Open[] = [];
  const write = (v: unknown) => {
    if (v === null || typeof v !== 'object') {
      out.push(JSON.stringify(v) ?? 'null');
    } else if (Array.isArray(v)) {
      out.push('[');
      open.push({ close: ']', members: v.map((m: unknown) => (m === undefined ? null : m)), next: 0 });
    } else {
      out.push('{');
      const entries = Object.entries(v as Record<string, unknown>)
        .filter(([, m]) => m !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      open.push({ close: '}', members: entries, next: 0 });
    }
  };
  write(value);
  for (let top = open.at(-1); top; top = open.at(-1)) {
    if (top.next === top.members.length) {
      out.push(top.close);
      open.pop();
      continue;
    }
    if (top.next > 0) out.push(',');
    const member = top.members[top.next++];
    if (top.close === ']') write(member);
    else {
      const [key, v] = member as [string, unknown];
      out.push(`${JSON.stringify(key)}:`);
      write(v);
    }
  }
  return out.join('');
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
