/**
 * `npm run events:generate`: writes the JSON Schemas, the AsyncAPI document and the
 * catalogue page from the catalogue. Schemas of older versions stay as they were
 * published: records in that shape may still be on the topics.
 */
import { generatedFiles } from '@herald/events';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

const root = process.cwd();
const files = generatedFiles();
for (const [path, content] of files) {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content);
}
console.log(`wrote ${files.size} files`);
