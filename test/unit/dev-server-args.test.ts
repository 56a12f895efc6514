import net from 'node:net';
import { devServerArgs, freePort, isListening, type DevServerOptions } from '../../temporal/dev-server';

const base: DevServerOptions = {
  cliPath: '/unused/temporal',
  ip: '127.0.0.1',
  port: 7233,
  uiPort: 8233,
  namespace: 'default',
  logFile: 'dev.log',
  searchAttributes: { AgentName: 'Keyword', Attempts: 'Int' },
};

/** The value following flag (flags must appear once). */
function valueOf(args: string[], flag: string): string | undefined {
  expect(args.filter((a) => a === flag)).toHaveLength(1);
  return args[args.indexOf(flag) + 1];
}

describe('devServerArgs', () => {
  test('starts a dev server on the given ip, port and namespace', () => {
    const args = devServerArgs({ ...base, ip: '0.0.0.0', port: 7300, namespace: 'acme' });
    expect(args.slice(0, 2)).toEqual(['server', 'start-dev']);
    expect(valueOf(args, '--ip')).toBe('0.0.0.0');
    expect(valueOf(args, '--port')).toBe('7300');
    expect(valueOf(args, '--namespace')).toBe('acme');
  });

  test('with a dbFile the server persists to it (runs survive a restart of npm run dev)', () => {
    expect(valueOf(devServerArgs({ ...base, dbFile: '/data/dev.sqlite' }), '--db-filename')).toBe('/data/dev.sqlite');
  });

  test('without a dbFile the server is in memory', () => {
    expect(devServerArgs(base)).not.toContain('--db-filename');
  });

  test('headless: no Web UI port', () => {
    const args = devServerArgs({ ...base, headless: true });
    expect(args).toContain('--headless');
    expect(args).not.toContain('--ui-port');
  });

  test('with the UI: the UI port is passed', () => {
    const args = devServerArgs({ ...base, uiPort: 8400 });
    expect(args).not.toContain('--headless');
    expect(valueOf(args, '--ui-port')).toBe('8400');
  });

  test('registers each search attribute as Name=Type', () => {
    const args = devServerArgs(base);
    const values = args.flatMap((a, i) => (a === '--search-attribute' ? [args[i + 1]] : []));
    expect(values).toEqual(['AgentName=Keyword', 'Attempts=Int']);
  });
});

describe('freePort and isListening', () => {
  test('a free port is not listening until a server binds it', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(await isListening('127.0.0.1', port)).toBe(false);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      expect(await isListening('127.0.0.1', port)).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
