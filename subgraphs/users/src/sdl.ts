import 'reflect-metadata';
import { printSubgraphSchema } from '@apollo/subgraph';
import { buildUsersSchema } from './schema';

/** Prints this subgraph's SDL (used by `npm run compose`). */
void buildUsersSchema().then((schema) => process.stdout.write(printSubgraphSchema(schema)));
