// git:// against Debian's git daemon and the lab's repository (three commits, a branch, two tags, a pack with deltas), through workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { call } from '../../../test/harness.ts';
import { labDir, ports } from '../../../lab/index.ts';
import { servicesFacts } from '../../../lab/servers/services-a.ts';

const g = servicesFacts.git;
const target = { host: '127.0.0.1', port: ports['services-a'].git, repo: g.repo };
const bare = `${labDir}/${g.dir}`;
const git = (...args: string[]) => execFileSync('git', ['-C', bare, ...args], { encoding: 'utf8' }).trim();
const gitBytes = (...args: string[]) => execFileSync('git', ['-C', bare, ...args]);

async function ok(op: string, input: Record<string, unknown>) {
  const r = await call('git', op, { ...target, ...input });
  assert.equal(r.status, 200, `${op}: ${JSON.stringify(r.body)}`);
  return r.body.result;
}

for (const protocol of ['v2', 'v0'] as const) {
  test(`git refs over ${protocol}: branches, tags peeled, HEAD's target — as git show-ref has them`, async () => {
    const r = await ok('refs', { protocol });
    assert.equal(r.protocol, protocol === 'v2' ? 2 : 0);
    assert.equal(r.head, 'refs/heads/main');
    const byName = Object.fromEntries(r.refs.map((x: { name: string }) => [x.name, x]));
    assert.equal(byName['refs/heads/main'].oid, git('rev-parse', 'refs/heads/main'));
    assert.equal(byName[`refs/heads/${g.branch}`].oid, git('rev-parse', `refs/heads/${g.branch}`));
    assert.equal(byName[`refs/tags/${g.annotatedTag}`].oid, git('rev-parse', `refs/tags/${g.annotatedTag}`));
    assert.equal(byName[`refs/tags/${g.annotatedTag}`].peeled, git('rev-parse', `refs/tags/${g.annotatedTag}^{commit}`));
    assert.equal(byName[`refs/tags/${g.lightTag}`].peeled, undefined);
    const tags = await ok('refs', { protocol, prefixes: ['refs/tags/'] });
    assert.deepEqual(tags.refs.map((x: { name: string }) => x.name).sort(), [`refs/tags/${g.annotatedTag}`, `refs/tags/${g.lightTag}`].sort());
  });

  test(`git log over ${protocol}: the commits of a shallow fetch, as git log has them`, async () => {
    const r = await ok('log', { protocol, depth: 2 });
    assert.deepEqual(
      r.commits.map((c: { oid: string }) => c.oid),
      git('log', '-2', '--format=%H', 'main').split('\n'),
    );
    assert.deepEqual(r.shallow, [git('rev-parse', 'main~1')]);
    const [third, second] = r.commits;
    assert.equal(third.message, `${g.commits[2].message}\n`);
    assert.equal(second.message, `${g.commits[1].message.replace(/\\n/g, '\n')}\n`);
    assert.deepEqual([second.author.name, second.author.email, second.author.timezone], ['Grace Hopper', 'grace@portolan.test', '-0500']);
    assert.equal(second.author.date, new Date(g.commits[1].date).toISOString());
    const all = await ok('log', { protocol, ref: g.annotatedTag });
    assert.equal(all.commits.length, 2, 'the annotated tag points at the second commit');
    assert.equal(all.commits[0].oid, git('rev-parse', `${g.annotatedTag}^{commit}`));
  });

  test(`git file over ${protocol}: an older version rebuilt from deltas, byte for byte as git show gives it`, async () => {
    // Each version of big.txt, from one fetch of three commits: git's pack keeps one whole and the others as deltas.
    const depths: number[] = [];
    for (const commit of git('rev-list', 'main').split('\n')) {
      const r = await ok('file', { protocol, path: 'big.txt', depth: 3, commit });
      assert.equal(r.commit, commit);
      assert.equal(r.content.text, gitBytes('show', `${commit}:big.txt`).toString('utf8'));
      assert.equal(r.content.text.split('\n').length, g.bigLines + 1);
      depths.push(r.deltaDepth);
      assert.ok(r.pack.deltas >= 2, JSON.stringify(r.pack));
    }
    assert.deepEqual(depths.sort(), [0, 1, 2], 'one version whole, one a delta, one a delta of a delta');
    const head = await ok('file', { protocol, path: 'src/hello.txt' });
    assert.equal(head.content.text, 'hello from commit 3\n');
    assert.equal(head.blob, git('rev-parse', 'main:src/hello.txt'));
  });
}

test('git errors: a missing repository in the daemon\'s words; a missing path and ref', async () => {
  const missing = await call('git', 'refs', { ...target, repo: '/no-such.git' });
  assert.equal(missing.body.error.code, 'server_error');
  assert.match(missing.body.error.message, /no such repository|not exported|access denied/);
  const noFile = await call('git', 'file', { ...target, path: 'nope.txt' });
  assert.equal(noFile.body.error.code, 'server_error');
  assert.match(noFile.body.error.message, /does not exist/);
  const noRef = await call('git', 'log', { ...target, ref: 'no-such-branch' });
  assert.match(noRef.body.error.message, /no ref "no-such-branch"/);
  const cap = await call('git', 'log', { ...target, depth: 3, maxPackBytes: 1024 });
  assert.equal(cap.body.error.code, 'protocol_error');
});
