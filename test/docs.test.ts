/**
 * The commands the documentation shows are the commands that exist: every `msccnet …` line of every
 * shell block in README.md and docs/ parses with the real command definitions (options, choices and
 * value parsers run; actions are replaced by no-ops), every `npm run X` names a script of
 * package.json, and every repository file a command runs (bench/, scripts/) exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { makeProgram } from '../src/cli/program.js';

const PAGES = [
  'README.md',
  ...readdirSync('docs')
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f)),
];

/** The shell lines of a page's ```sh blocks: continuations joined, comments cut, `$VAR`s of the block's assignments expanded. */
function shellLines(markdown: string): string[] {
  const lines: string[] = [];
  for (const block of markdown.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```/gm)) {
    const vars = new Map<string, string>();
    const joined = block[1]!.replace(/\\\n\s*/g, ' ').split('\n');
    for (const raw of joined) {
      const line = raw.replace(/(^|\s)#(\s.*)?$/, '').trim();
      const assign = /^([A-Z_]+)=(?:"([^"]*)"|(\S*))$/.exec(line);
      if (assign) vars.set(assign[1]!, assign[2] ?? assign[3]!);
      else if (line !== '') lines.push(line.replace(/\$([A-Z_]+)/g, (_, n: string) => vars.get(n) ?? `$${n}`));
    }
  }
  return lines;
}

/** A documented command line as argv: optional `[…]` parts kept, the first of `a|b|c` alternatives taken. */
function argv(line: string): string[] {
  return line
    .replace(/[[\]]/g, '')
    .split(/\s+/)
    .map((t) => t.split('|')[0]!);
}

/** The program with every action a no-op and every error thrown instead of exiting. */
function dryProgram(): Command {
  const program = makeProgram();
  const quiet = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
    if (cmd.commands.length === 0) cmd.action(() => {});
    cmd.commands.forEach(quiet);
  };
  quiet(program);
  return program;
}

test('the line reader joins continuations, cuts comments, expands the block variables and takes the first alternative', () => {
  const md =
    '```sh\nC=run/config.json\nmsccnet train -c $C \\\n  --set epochs=1   # one epoch\n# a comment line\nmsccnet benchmark --protocol intra|leave-one-out [--seeds 3]\n```\n';
  assert.deepEqual(shellLines(md).map(argv), [
    ['msccnet', 'train', '-c', 'run/config.json', '--set', 'epochs=1'],
    ['msccnet', 'benchmark', '--protocol', 'intra', '--seeds', '3'],
  ]);
});

test('the dry parse refuses an unknown option and a bad choice (it can fail)', async () => {
  await assert.rejects(dryProgram().parseAsync(['msccnet', 'train', '--no-such-option'], { from: 'user' }));
  await assert.rejects(dryProgram().parseAsync(['msccnet', 'nonsense'], { from: 'user' }));
});

for (const page of PAGES) {
  test(`${page}: every command it shows exists`, async () => {
    const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
    const problems: string[] = [];
    for (const line of shellLines(readFileSync(page, 'utf8'))) {
      const words = argv(line);
      const msccnet = words.indexOf('msccnet');
      if (msccnet === 0 || (words[0] === 'node' && words[1] === 'bin/msccnet.js')) {
        const args = words.slice(msccnet === 0 ? 1 : 2);
        try {
          await dryProgram().parseAsync(args, { from: 'user' });
        } catch (err) {
          problems.push(`${line}\n    ${(err as Error).message}`);
        }
      }
      for (const [i, w] of words.entries()) {
        if (w === 'run' && words[i - 1] === 'npm' && words[i + 1] !== undefined && !(words[i + 1]! in scripts))
          problems.push(`${line}\n    no npm script ${words[i + 1]}`);
        if (/^(bench|scripts)\/[\w./-]+$/.test(w) && !existsSync(w)) problems.push(`${line}\n    no file ${w}`);
      }
    }
    assert.deepEqual(problems, []);
  });
}
