import 'reflect-metadata';
import { printSubgraphSchema } from '@apollo/subgraph';
import { buildAnalyticsSchema } from './schema';

/** Prints this subgraph's SDL (used by `npm run compose`). */
void buildAnalyticsSchema().then((schema) => process.stdout.write(printSubgraphSchema(schema)));
