import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseYamlText, readYamlFile } from '../../config/yaml-file';
import { thrown } from '../support/thrown';

class LoaderError extends Error {}
const fail = (message: string) => new LoaderError(message);

const Schema = z
  .object({
    server: z.object({ port: z.number(), tags: z.array(z.object({ name: z.string() }).strict()).default([]) }).strict(),
    mode: z.enum(['a', 'b']).optional(),
  })
  .strict();

const problem = (text: string) => {
  const err = thrown(() => parseYamlText('f.yaml', text, Schema, fail));
  expect(err).toBeInstanceOf(LoaderError);
  return err.message;
};

describe('parseYamlText names the file, the line and the first problem', () => {
  test.each([
    ['a value of the wrong type', '# a comment\n\nserver:\n  port: eighty\n', 'f.yaml:4: server.port: '],
    ['an item of a list', 'server:\n  port: 1\n  tags:\n    - name: a\n    - name: 7\n', 'f.yaml:5: server.tags.1.name: '],
    ['an unknown key, at its object', 'mode: a\nserver:\n  port: 1\n  colour: red\n', 'f.yaml:2: server: '],
    ['a missing key, at its parent', 'mode: a\nserver:\n  tags: []\n', 'f.yaml:2: server.port: '],
    [
      'a block value, at its key rather than its first child',
      'mode: a\nserver:\n  port: 1\n  tags:\n    name: x\n',
      'f.yaml:4: server.tags: ',
    ],
    ['an empty file, at the first line', '', 'f.yaml:1: (root): '],
    ['YAML that does not parse', 'server:\n  port: 1\n  tags: [\n', 'f.yaml:4: not valid YAML: '],
    ['a key given twice', 'server:\n  port: 1\n  port: 2\n', 'f.yaml:3: not valid YAML: '],
  ])('%s', (_what, text, start) => {
    expect(problem(text).slice(0, start.length)).toBe(start);
  });

  test('unknown keys are named', () => {
    expect(problem('server:\n  port: 1\n  colour: red\n  size: 2\n')).toMatch(/^f\.yaml:1: server: .*"colour", "size"/);
  });

  test('a good document gives the parsed data (defaults applied) and file:line of any key path', () => {
    const { data, at } = parseYamlText('f.yaml', 'server:\n  port: 1\n  tags:\n    - name: a\nmode: b\n', Schema, fail);
    expect(data).toEqual({ server: { port: 1, tags: [{ name: 'a' }] }, mode: 'b' });
    expect(at(['mode'])).toBe('f.yaml:5');
    expect(at(['server', 'tags', 0, 'name'])).toBe('f.yaml:4');
    expect(at(['server', 'nothing', 'here'])).toBe('f.yaml:1');
    expect(at([])).toBe('f.yaml:1');
  });
});

describe('readYamlFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'acp-yaml-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('reads and checks a file, naming it by its path', () => {
    const file = path.join(dir, 'x.yaml');
    writeFileSync(file, 'server:\n  port: 1\n');
    expect(readYamlFile(file, Schema, fail).data).toEqual({ server: { port: 1, tags: [] } });
    writeFileSync(file, 'server:\n  port: "1"\n');
    expect(thrown(() => readYamlFile(file, Schema, fail)).message).toMatch(new RegExp(`^${file}:2: server\\.port: `));
  });

  test('a file that cannot be read is the loader error, naming the file', () => {
    const file = path.join(dir, 'missing.yaml');
    const err = thrown(() => readYamlFile(file, Schema, fail));
    expect(err).toBeInstanceOf(LoaderError);
    expect(err.message).toMatch(new RegExp(`^cannot read ${file}: .*ENOENT`));
  });
});
