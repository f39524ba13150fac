#!/usr/bin/env node
// `npx herald …`: runs the built CLI, building Herald first when it has not been built
// (npm start and npm test build it; `npm run herald -- …` always builds).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const main = join(root, 'dist', 'apps', 'cli', 'src', 'main.js');
if (!existsSync(main)) {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}
const { runCli } = await import(pathToFileURL(main).href);
process.exit(await runCli(process.argv.slice(2)));
