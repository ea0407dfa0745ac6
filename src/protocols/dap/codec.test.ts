import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertSplitFeed } from '../../../test/codec.ts';
import { utf8 } from '../../core/bytes.ts';
import { messageFrame } from '../lsp/codec.ts';

// debugpy's first two messages after initialize, as it formats them (events before the response, no Content-Type).
const framed = (json: string) => `Content-Length: ${utf8(json).length}\r\n\r\n${json}`;
const fromDebugpy = utf8(
  framed('{"seq": 1, "type": "event", "event": "output", "body": {"category": "telemetry", "output": "ptvsd", "data": {"packageVersion": "1.6.3+git20221103.a2a3328"}}}') +
    framed('{"seq": 3, "type": "response", "request_seq": 1, "success": true, "command": "initialize", "body": {}}'),
);

test('DAP messages share the LSP base protocol: events and the response, byte by byte', () => {
  const msgs = assertSplitFeed(messageFrame(), fromDebugpy).map((m) => m.body as { type: string; event?: string; command?: string });
  assert.deepEqual(msgs.map((m) => m.type), ['event', 'response']);
  assert.equal(msgs[0].event, 'output');
  assert.equal(msgs[1].command, 'initialize');
});
