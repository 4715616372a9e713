import 'reflect-metadata';
import { printSubgraphSchema } from '@apollo/subgraph';
import { buildFilesSchema } from './schema';

/** Prints this subgraph's SDL (used by `npm run compose`). */
void buildFilesSchema().then((schema) => process.stdout.write(printSubgraphSchema(schema)));
