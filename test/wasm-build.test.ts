import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(__dirname, '..', '..');

test('the committed WebAssembly and the record-layout header are the build of the C sources and src/record.ts (scripts/build-wasm.sh --check)', (t) => {
  const hasClang = spawnSync('sh', ['-c', 'command -v clang-14 && command -v wasm-ld-14'], { stdio: 'ignore' }).status === 0;
  if (!hasClang) {
    // CI installs clang 14 (.ci/setup.d/clang.sh), so the check runs there.
    if (process.env.CI === 'true') assert.fail('clang-14 and wasm-ld-14 are needed in CI to check the WebAssembly builds');
    t.skip('no clang-14/wasm-ld-14 here: apt-get install clang-14 lld-14 to check the WebAssembly builds against their C sources');
    return;
  }
  execFileSync(join(ROOT, 'scripts', 'build-wasm.sh'), ['--check'], { stdio: 'pipe' });
});
