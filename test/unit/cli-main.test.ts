// The `asyncore` command in this process, through the exported main(argv) of src/cli/main.ts
// (the code path of the real command, which only adds process.exit): --help and --version,
// every command's usage, and usage errors (exit 2, one line on stderr). What needs a process
// (servers, signals, exit statuses) is test/process/cli.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assertOneLine, captureAsync, checkLeaks } from '../helpers.js';
import { main } from '../../src/cli/main.js';
import { POLLER_NAMES } from '../../src/pollers/names.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const COMMANDS = ['demo', 'echo-server', 'http-get', 'chat-server', 'smtp-server', 'bench'];

/** main(args) with stdout and stderr captured; `code` is what the command would exit with. */
async function runMain(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await captureAsync(() => main(args));
  return { code: r.value, stdout: r.out, stderr: r.err };
}

const BAD: [args: string[], stderr: RegExp][] = [
  [[], /^asyncore: missing command .*asyncore --help/],
  [['frobnicate'], /^asyncore: unknown command 'frobnicate'/],
  [['--frobnicate'], /^asyncore: unknown option '--frobnicate'/],
  [['demo', 'extra'], /^asyncore demo: .*'extra'/],
  [['demo', '--loud'], /^asyncore demo: Unknown option '--loud'/],
  [['echo-server', '--port', '70000'], /^asyncore echo-server: --port must be an integer from 0 to 65535, not '70000'/],
  [['echo-server', '--port', 'http'], /^asyncore echo-server: --port must be an integer/],
  [['echo-server', '--port'], /^asyncore echo-server: Option '--port <value>' argument missing/],
  [['echo-server', '--poller', 'kqueue'], new RegExp(`^asyncore echo-server: --poller must be one of ${POLLER_NAMES.join(', ')}, not 'kqueue'`)],
  [['echo-server', '--idle-timeout', 'soon'], /^asyncore echo-server: --idle-timeout must be a positive number of seconds, not 'soon'/],
  [['echo-server', '--idle-timeout=0'], /^asyncore echo-server: --idle-timeout must be a positive number/],
  [['echo-server', '--host', ''], /^asyncore echo-server: --host must not be empty/],
  [['http-get'], /^asyncore http-get: missing URL/],
  [['http-get', 'not a url'], /^asyncore http-get: not a URL: 'not a url'/],
  [['http-get', 'ftp://127.0.0.1/'], /^asyncore http-get: only http:\/\/ and https:\/\/ URLs are supported.*ftp:/],
  [['http-get', 'http://127.0.0.1/', '--insecure'], /^asyncore http-get: --cafile and --insecure are for https:\/\/ URLs/],
  [['http-get', 'http://[::1]:8080/'], /^asyncore http-get: IPv6 addresses are not supported/],
  [['http-get', 'http://127.0.0.1/', 'http://127.0.0.2/'], /^asyncore http-get: unexpected argument 'http:\/\/127\.0\.0\.2\/'/],
  [['http-get', 'http://127.0.0.1/', '--timeout=-1'], /^asyncore http-get: --timeout must be a positive number of seconds, not '-1'/],
  [['chat-server', '--port', '-5'], /^asyncore chat-server: /],
  [['chat-server', '--nick', 'x'], /^asyncore chat-server: Unknown option '--nick'/],
  [['chat-server', '--poller', 'kqueue'], /^asyncore chat-server: --poller must be one of/],
  [['smtp-server'], /^asyncore smtp-server: --dir DIR is required/],
  [['smtp-server', '--dir', fileURLToPath(import.meta.url)], /^asyncore smtp-server: --dir: not a directory: .*cli-main\.test\.ts/],
  [['smtp-server', '--dir', '/tmp', '--poller', 'kqueue'], /^asyncore smtp-server: --poller must be one of/],
  [['bench', '--slow'], /^asyncore bench: Unknown option '--slow'/],
  [['bench', 'now'], /^asyncore bench: .*'now'/],
];

describe('asyncore --help and --version', () => {
  checkLeaks();

  for (const flag of ['--help', '-h', 'help']) {
    it(`${flag} lists every command and returns 0`, async () => {
      const r = await runMain([flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Usage: asyncore <command>/);
      for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c}\\b`, 'm'), `--help mentions ${c}`);
      assert.equal(r.stderr, '');
    });
  }

  for (const flag of ['--version', '-V']) {
    it(`${flag} prints the package version`, async () => {
      const r = await runMain([flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${VERSION}\n`);
      assert.equal(r.stderr, '');
    });
  }

  for (const c of COMMANDS) {
    it(`${c} --help and -h print its usage and return 0`, async () => {
      for (const flag of ['--help', '-h']) {
        const r = await runMain([c, flag]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`^Usage: asyncore ${c}\\b`));
        assert.equal(r.stderr, '');
      }
    });
  }
});

describe('usage errors, through main()', () => {
  checkLeaks();

  for (const [args, re] of BAD) {
    it(`${JSON.stringify(args.join(' '))} → exit 2 and one line on stderr`, async () => {
      const r = await runMain(args);
      assert.equal(r.code, 2, `exit status; stderr: ${r.stderr}`);
      assertOneLine(r.stderr, re);
      assert.equal(r.stdout, '');
    });
  }
});
