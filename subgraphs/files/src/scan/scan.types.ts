import { Field, Int, ObjectType } from 'type-graphql';

/** The virus scanning of this files deployment, as an administrator sees it. */
@ObjectType({ description: 'Virus scanning: the scanner in use, whether it answers, and the scan queue' })
export class FileScanStatus {
  @Field({ description: 'clamav (CLAMAV_HOST set) or eicar (the built-in test scanner)' })
  public scanner!: string;

  @Field({ description: 'The scanner answered a ping just now' })
  public scannerUp!: boolean;

  @Field(() => Int, { description: 'Scan jobs waiting to run' })
  public waiting!: number;

  @Field(() => Int, { description: 'Scan jobs running' })
  public active!: number;

  @Field(() => Int, { description: 'Scan jobs waiting for a retry (backoff) or for the scanner to come back' })
  public delayed!: number;
}
