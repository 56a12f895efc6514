import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadSettings, PROJECT_ROOT } from '../../config/settings';
import { thrown } from '../support/thrown';

const REAL_FILE = path.join(PROJECT_ROOT, 'temporal-dev.yaml');

describe('loadSettings defaults (the real temporal-dev.yaml)', () => {
  const s = loadSettings({});

  test('dev server ports, namespace and task queue', () => {
    expect(s.devServer).toMatchObject({ ip: '127.0.0.1', port: 7233, uiPort: 8233, namespace: 'default' });
    expect(s.taskQueue).toBe('agent-runs');
    expect(s.gateway).toEqual({ host: '127.0.0.1', port: 8080, publicUrl: 'http://127.0.0.1:8080' });
    expect(s.log).toEqual({ level: 'info', format: 'json' });
    expect(s.temporalUiUrl).toBeUndefined();
  });

  test('the platform search attributes with their types', () => {
    expect(s.searchAttributes).toEqual({
      AgentName: 'Keyword',
      AgentVersion: 'Keyword',
      Tenant: 'Keyword',
      Initiator: 'Keyword',
      RunState: 'Keyword',
      PendingApprovers: 'KeywordList',
    });
  });

  test('the database and log files are absolute paths under <root>/.temporal', () => {
    const dotTemporal = path.join(PROJECT_ROOT, '.temporal') + path.sep;
    for (const file of [s.devServer.dbFile, s.devServer.logFile]) {
      expect(path.isAbsolute(file)).toBe(true);
      expect(file.startsWith(dotTemporal)).toBe(true);
    }
    expect(s.agentsDir).toBe(path.join(PROJECT_ROOT, 'agents'));
    expect(s.docsDir).toBe(path.join(PROJECT_ROOT, 'docs'));
  });
});

describe('loadSettings environment overrides', () => {
  test('ports, task queue and log format come from the environment', () => {
    const s = loadSettings({ TEMPORAL_DEV_PORT: '7300', GATEWAY_PORT: '9090', TEMPORAL_TASK_QUEUE: 'my-queue', LOG_FORMAT: 'pretty' });
    expect(s.devServer.port).toBe(7300);
    expect(s.gateway.port).toBe(9090);
    expect(s.gateway.publicUrl).toBe('http://127.0.0.1:9090');
    expect(s.taskQueue).toBe('my-queue');
    expect(s.log.format).toBe('pretty');
  });

  test('an empty variable means "not set"', () => {
    expect(loadSettings({ GATEWAY_PORT: '', TEMPORAL_TASK_QUEUE: '' })).toMatchObject({ gateway: { port: 8080 }, taskQueue: 'agent-runs' });
  });

  test('a relative TEMPORAL_DEV_DB_FILE resolves against the project root', () => {
    expect(loadSettings({ TEMPORAL_DEV_DB_FILE: 'data/x.sqlite' }).devServer.dbFile).toBe(path.join(PROJECT_ROOT, 'data', 'x.sqlite'));
  });

  test.each([
    ['GATEWAY_PORT', 'abc'],
    ['GATEWAY_PORT', ' '],
    ['TEMPORAL_DEV_PORT', '70000'],
    ['TEMPORAL_DEV_UI_PORT', '0x10'],
    ['LOG_LEVEL', 'loud'],
    ['LOG_FORMAT', 'xml'],
    ['GATEWAY_PUBLIC_URL', 'not a url'],
  ])('%s=%j is rejected with a ConfigError naming the variable', (name, value) => {
    const err = thrown(() => loadSettings({ [name]: value }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(`${name}=`);
  });
});

describe('loadSettings with a broken file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'acp-settings-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The real file with one edit, written to a temp file. */
  function variant(from: string, to: string): string {
    const text = readFileSync(REAL_FILE, 'utf8');
    expect(text).toContain(from);
    const file = path.join(dir, 'temporal-dev.yaml');
    writeFileSync(file, text.replace(from, to));
    return file;
  }

  test.each([
    ['an unknown key', 'namespace: default', 'namespace: default\n  colour: blue', 'server:', 'server', 'colour'],
    ['a port that is text', 'port: 8080', 'port: eighty', 'port: eighty', 'gateway.port', 'number'],
    ['a port left empty', 'port: 8080', 'port:', 'port: # GATEWAY_PORT', 'gateway.port', 'number'],
    ['a port that is a boolean', 'port: 7233', 'port: true', 'port: true', 'server.port', 'number'],
    ['an unknown search attribute type', 'Tenant: Keyword', 'Tenant: Keywrd', 'Tenant: Keywrd', 'search_attributes.Tenant', 'Keyword'],
    ['a task queue that is a list', 'task_queue: agent-runs', 'task_queue: [a, b]', 'task_queue: [a, b]', 'task_queue', 'string'],
  ])('%s is rejected naming the file, the line and the key path', (_what, from, to, lineStart, keyPath, detail) => {
    const file = variant(from, to);
    const line =
      readFileSync(file, 'utf8')
        .split('\n')
        .findIndex((l) => l.trim().startsWith(lineStart)) + 1;
    expect(line).toBeGreaterThan(0);
    const err = thrown(() => loadSettings({}, file));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(new RegExp(`^${file}:${line}: ${keyPath}: `));
    expect(err.message).toContain(detail);
  });

  test('a missing file is rejected naming the file', () => {
    const file = path.join(dir, 'nope.yaml');
    const err = thrown(() => loadSettings({}, file));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(`cannot read ${file}`);
  });

  test('a file that is not YAML is rejected naming the file and the line', () => {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, '# settings\nserver: [unclosed\n');
    const err = thrown(() => loadSettings({}, file));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(new RegExp(`^${file}:\\d+: not valid YAML: `));
  });
});
