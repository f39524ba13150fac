/**
 * The search contract against Elasticsearch 8.x, when ELASTICSEARCH_URL names a server;
 * otherwise the suite is reported as skipped with the reason. Each run writes under its
 * own alias and deletes its indices after.
 */
import { Client } from '@elastic/elasticsearch';
import { randomUUID } from 'node:crypto';
import { afterAll } from 'vitest';
import { describeSearchContract } from './search.contract.js';
import { elasticsearchApi, ElasticsearchSearchIndex } from './search.elasticsearch.js';

const url = process.env.ELASTICSEARCH_URL;
const alias = `herald-test-${randomUUID().slice(0, 8)}`;
let client: Client | undefined;

afterAll(async () => {
  if (!client) return;
  await client.indices.delete({ index: `${alias}-*` }, { ignore: [404] });
  await client.indices.deleteIndexTemplate({ name: `${alias}-template` }, { ignore: [404] });
  await client.close();
});

describeSearchContract(
  'Elasticsearch',
  async () => {
    client = new Client({ node: url! });
    const index = new ElasticsearchSearchIndex(elasticsearchApi(client), { alias });
    await index.ensure();
    return index;
  },
  url ? undefined : 'ELASTICSEARCH_URL is not set (no Elasticsearch server to test against)',
);
