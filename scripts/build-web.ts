// Builds the web UI into web/dist (served by the Worker as static assets).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

if (existsSync('web/vite.config.ts')) {
  const r = spawnSync('npx', ['vite', 'build', '--config', 'web/vite.config.ts'], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
mkdirSync('web/dist', { recursive: true });
if (!existsSync('web/dist/index.html')) {
  writeFileSync('web/dist/index.html', '<!doctype html><meta charset="utf-8"><title>Portolan</title><p>Portolan API: <a href="/api/protocols">/api/protocols</a>, <a href="/api/openapi.json">/api/openapi.json</a>\n');
}
