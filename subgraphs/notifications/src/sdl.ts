import 'reflect-metadata';
import { printSubgraphSchema } from '@apollo/subgraph';
import { buildNotificationsSchema } from './schema';

/** Prints this subgraph's SDL (used by `npm run compose`). */
void buildNotificationsSchema().then((schema) => process.stdout.write(printSubgraphSchema(schema)));
