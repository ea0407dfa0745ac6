// FTP listings: golden Unix (vsftpd, ProFTPD-style), DOS/IIS and MLSD (RFC 3659 §7) lines; fuzz.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { parseDosLine, parseFactLine, parseList, parseMlsd, parseNames, parseUnixLine } from './listing.ts';

const now = new Date(Date.UTC(2026, 10, 26, 15, 0));

test('Unix LIST lines as vsftpd sends them', () => {
  assert.deepEqual(parseUnixLine('-rw-r--r--    1 0        0              69 Nov 26 15:09 welcome.txt', now), {
    name: 'welcome.txt',
    type: 'file',
    size: 69,
    // Recent entries show a time, not a year: the year that puts the date in the past (one day of slack).
    modified: '2026-11-26T15:09',
    permissions: 'rw-r--r--',
    owner: '0',
    group: '0',
  });
  assert.deepEqual(parseUnixLine('drwxr-xr-x    2 1001     1001         4096 Dec 31 23:59 dir with  two spaces', now), {
    name: 'dir with  two spaces',
    type: 'dir',
    size: 4096,
    modified: '2025-12-31T23:59',
    permissions: 'rwxr-xr-x',
    owner: '1001',
    group: '1001',
  });
  assert.deepEqual(parseUnixLine('-rw-------    1 1001     1001      20971520 Jan 01  2024 Ünïcödé ⚓.bin', now)?.modified, '2024-01-01');
  assert.deepEqual(parseUnixLine('-rw-------    1 1001     1001      20971520 Jan 01  2024 Ünïcödé ⚓.bin', now)?.name, 'Ünïcödé ⚓.bin');
});

test('Unix LIST: links, devices, ACL markers, no group column, a name with a leading space', () => {
  const link = parseUnixLine('lrwxrwxrwx 1 root root 7 Mar  3  2023 lib -> usr/lib', now);
  assert.equal(link?.type, 'link');
  assert.equal(link?.name, 'lib');
  assert.equal(link?.target, 'usr/lib');
  const device = parseUnixLine('crw-rw-rw-  1 root root 1, 3 Mar  3  2023 null', now);
  assert.equal(device?.type, 'other');
  assert.equal(device?.size, null);
  assert.equal(parseUnixLine('-rw-r--r--+ 1 alice staff 12 Mar  3  2023 acl.txt', now)?.size, 12);
  const noGroup = parseUnixLine('-rw-r--r-- 1 alice 12 Mar  3  2023 nogroup.txt', now);
  assert.equal(noGroup?.owner, 'alice');
  assert.equal(noGroup?.group, undefined);
  assert.equal(noGroup?.size, 12);
  assert.equal(parseUnixLine('-rw-r--r-- 1 a b 1 Mar  3 12:00  leading', now)?.name, ' leading');
  assert.equal(parseUnixLine('total 12', now), null);
  assert.equal(parseUnixLine('-rw-r--r-- 1 a b 1 Foo  3 12:00 badmonth', now), null);
});

test('DOS LIST lines (IIS)', () => {
  assert.deepEqual(parseDosLine('01-15-24  03:45PM       <DIR>          Program Files'), {
    name: 'Program Files',
    type: 'dir',
    size: null,
    modified: '2024-01-15T15:45',
  });
  assert.deepEqual(parseDosLine('12-31-1999  12:05AM                 1234 report 1999.txt'), {
    name: 'report 1999.txt',
    type: 'file',
    size: 1234,
    modified: '1999-12-31T00:05',
  });
  assert.equal(parseDosLine('07-04-76  17:30            42 no-ampm.bin')?.modified, '1976-07-04T17:30');
  assert.equal(parseDosLine('13-01-24  03:45PM 1 bad month'), null);
});

test('a LIST reply: total skipped, . and .. left out, unknown lines kept', () => {
  const text = [
    'total 8',
    'drwxr-xr-x    3 0        0            4096 Nov 26 15:09 .',
    'drwxr-xr-x    3 0        0            4096 Nov 26 15:09 ..',
    'drwxr-xr-x    2 0        0            4096 Nov 26 15:09 pub',
    '-rw-r--r--    1 0        0              69 Nov 26 15:09 welcome.txt',
    'something else entirely',
    '',
  ].join('\r\n');
  const listing = parseList(utf8(text), now);
  assert.equal(listing.format, 'unix');
  assert.deepEqual(
    listing.entries.map((e) => [e.name, e.type, e.size]),
    [
      ['pub', 'dir', 4096],
      ['welcome.txt', 'file', 69],
    ],
  );
  assert.deepEqual(listing.unparsed, ['something else entirely']);
  assert.equal(parseList(utf8('01-15-24  03:45PM       <DIR>          a\n01-15-24  03:45PM  5 b\n'), now).format, 'dos');
  assert.equal(parseList(new Uint8Array(0), now).format, 'empty');
  assert.equal(parseList(utf8('a\nb\n'), now).format, 'unknown');
  const capped = parseList(utf8('-rw-r--r-- 1 a b 1 Mar  3  2023 x\n'.repeat(5)), now, 3);
  assert.equal(capped.entries.length, 3);
  assert.equal(capped.truncated, true);
});

test('NLST: one name per line', () => {
  assert.deepEqual(
    parseNames(utf8('pub\r\nwelcome.txt\r\nÜ ⚓\r\n')).entries.map((e) => e.name),
    ['pub', 'welcome.txt', 'Ü ⚓'],
  );
});

test('MLSD (RFC 3659 §7.2): facts, cdir/pdir left out, symlinks, names with spaces and semicolons', () => {
  const text = [
    'type=cdir;modify=20261126150900;perm=flcdmpe; .',
    'type=pdir;modify=20261126150900;perm=flcdmpe; ..',
    'type=file;size=69;modify=20261126150912.250;perm=adfrw;UNIX.mode=0644;UNIX.owner=1001; welcome.txt',
    'Type=Dir;Modify=20250101000000; a dir; with semicolons',
    'type=OS.unix=slink:/srv/target;size=7; link',
    ' no-facts',
    'broken-no-space',
    '',
  ].join('\r\n');
  const listing = parseMlsd(utf8(text));
  assert.equal(listing.format, 'mlsd');
  assert.deepEqual(
    listing.entries.map((e) => [e.name, e.type, e.size, e.modified]),
    [
      ['welcome.txt', 'file', 69, '2026-11-26T15:09:12.250Z'],
      ['a dir; with semicolons', 'dir', null, '2025-01-01T00:00:00Z'],
      ['link', 'link', 7, null],
      ['no-facts', 'other', null, null],
    ],
  );
  assert.equal(listing.entries[0].permissions, '0644');
  assert.equal(listing.entries[0].owner, '1001');
  assert.equal(listing.entries[0].facts?.perm, 'adfrw');
  assert.equal(listing.entries[2].target, '/srv/target');
  assert.deepEqual(listing.unparsed, ['broken-no-space']);
  assert.throws(() => parseFactLine('size; x'), ProtocolError);
  assert.equal(parseFactLine('__proto__=x;type=file; p').facts?.['__proto__'], 'x');
});

test('listing parsers: fuzz never throws, every entry has a name', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      for (const listing of [parseList(bytes, now), parseMlsd(bytes), parseNames(bytes)]) {
        for (const entry of listing.entries) assert.equal(typeof entry.name, 'string');
      }
    }),
    { numRuns: 500 },
  );
  const seed = '-rw-r--r--    1 0        0              69 Nov 26 15:09 welcome.txt\r\n';
  fc.assert(
    fc.property(fc.integer({ min: 0, max: seed.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, byte) => {
      const bytes = utf8(seed);
      bytes[at] = byte;
      parseList(bytes, now);
      parseMlsd(bytes);
    }),
    { numRuns: 500 },
  );
});
