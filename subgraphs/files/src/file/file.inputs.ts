import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { File } from './file.model';

@InputType()
export class RequestFileUploadInput {
  @Field(() => ID, { description: 'The task the file is attached to (MEMBER or better of its project)' })
  public taskId!: string;

  @Field({ description: 'A file name, not a path (1–255 characters)' })
  public name!: string;

  @Field(() => Int, { description: 'Bytes; at most the configured limit (default 25 MB)' })
  public size!: number;

  @Field({ description: 'One of the allowed types; the content is checked against it on completion' })
  public contentType!: string;
}

@ObjectType({ description: 'Where to PUT the bytes, then call completeFileUpload' })
export class FileUpload {
  @Field(() => File)
  public file!: File;

  @Field({ description: 'PUT the bytes here (Content-Type as declared); single use where the storage allows, expires' })
  public uploadUrl!: string;

  @Field(() => Date)
  public expiresAt!: Date;
}
