import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Policy } from '../contracts/policy';
import { loadPolicyDir, PolicyError, type PolicyCatalog } from './load';

/** Anything that knows the policy in force now; read it per decision, never once at start. */
export interface PolicySource {
  current(): Policy;
}

/** The policy itself, or a source of the current one. */
export type PolicyLike = Policy | PolicySource;

/** The policy in force: `p` itself, or what its source holds now. */
export function currentPolicy(p: PolicyLike): Policy {
  return typeof (p as Partial<PolicySource>).current === 'function' ? (p as PolicySource).current() : (p as Policy);
}

/** What GET /v1/policy shows. */
export interface PolicyStatus {
  hash: string;
  /** When the policy in force was loaded (ISO 8601). */
  loaded_at: string;
  /** The files it was compiled from, e.g. `policies/default.yaml`; empty when it was not read from a folder. */
  files: string[];
  /** Whether reload() can re-read a folder. */
  reloadable: boolean;
  /** The last reload that failed, when no reload has succeeded since. */
  last_error?: { message: string; at: string };
}

/** The result of reload(): either the new policy is in force, or the previous one still is. */
export type ReloadOutcome =
  | { reloaded: true; hash: string; previous_hash: string; loaded_at: string; files: string[] }
  | {
      reloaded: false;
      /** Why, with the file and line for a bad policy file, e.g. `policies/default.yaml:12: …`. */
      error: string;
      /** The policy that stays in force. */
      hash: string;
      loaded_at: string;
    };

interface Loaded {
  policy: Policy;
  loaded_at: string;
  files: string[];
}

/** The *.yaml files loadPolicyDir reads, named as its rules' sources name them. */
function policyFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(path.basename(dir), f));
}

/**
 * The gateway's live policy: `current()` is what decides now; `reload()` re-reads the policies folder
 * with the catalog (agents, tools) given at start, and swaps the policy in one assignment only when the
 * whole folder compiles. A bad file (unknown key, wrong type, unknown agent or tool, bad YAML) or a read
 * error leaves the previous policy in force and is kept as `last_error`.
 *
 * Runs already started are not affected either way: each run carries the policy snapshot it was started
 * with in its input (that is what its workflow decides tool and model calls with, and what a replay
 * sees). A reload changes what new dispatches are decided by and the snapshot new runs start with.
 */
export class ReloadablePolicy implements PolicySource {
  private loaded: Loaded;
  private lastError: { message: string; at: string } | undefined;

  private constructor(
    /** The folder reload() re-reads; undefined for a policy given as a value. */
    private readonly dir: string | undefined,
    private readonly catalog: PolicyCatalog | undefined,
    initial: Loaded,
  ) {
    this.loaded = initial;
  }

  /** Loads a policies folder; a bad file throws PolicyError (file:line: reason), so start-up fails. */
  static load(dir: string, catalog: PolicyCatalog): ReloadablePolicy {
    const files = policyFiles(dir);
    const policy = loadPolicyDir(dir, catalog);
    return new ReloadablePolicy(dir, catalog, { policy, files, loaded_at: new Date().toISOString() });
  }

  /** A policy given as a value (tests, embedders): current() is always it, reload() refuses. */
  static fixed(policy: Policy): ReloadablePolicy {
    return new ReloadablePolicy(undefined, undefined, { policy, files: [], loaded_at: new Date().toISOString() });
  }

  get reloadable(): boolean {
    return this.dir !== undefined;
  }

  current(): Policy {
    return this.loaded.policy;
  }

  status(): PolicyStatus {
    return {
      hash: this.loaded.policy.hash,
      loaded_at: this.loaded.loaded_at,
      files: [...this.loaded.files],
      reloadable: this.reloadable,
      ...(this.lastError ? { last_error: { ...this.lastError } } : {}),
    };
  }

  /** Re-reads the folder. Never throws: a failure is an outcome, and the previous policy stays in force. */
  reload(): ReloadOutcome {
    const previous = this.loaded;
    const refuse = (error: string): ReloadOutcome => {
      this.lastError = { message: error, at: new Date().toISOString() };
      return { reloaded: false, error, hash: previous.policy.hash, loaded_at: previous.loaded_at };
    };
    if (this.dir === undefined || this.catalog === undefined) return refuse('this policy was not loaded from a folder; nothing to reload');
    let next: Loaded;
    try {
      // Synchronous from here to the swap: no request sees a half-loaded policy.
      const files = policyFiles(this.dir);
      next = { policy: loadPolicyDir(this.dir, this.catalog), files, loaded_at: new Date().toISOString() };
    } catch (err) {
      if (err instanceof PolicyError) return refuse(err.message);
      return refuse(`${this.dir}: cannot read the policies: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.loaded = next;
    this.lastError = undefined;
    return {
      reloaded: true,
      hash: next.policy.hash,
      previous_hash: previous.policy.hash,
      loaded_at: next.loaded_at,
      files: [...next.files],
    };
  }
}
