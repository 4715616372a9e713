import { as, data, type GqlResponse } from '@tm/tools/testing/graphql';
import type { TestUser } from '@tm/tools/testing/stack';
import { waitFor } from '@tm/tools/testing/wait';

export { data, waitFor };
export { streamEvents } from '@tm/tools/testing/streams';

export const REQUEST = `mutation($i: RequestFileUploadInput!) { requestFileUpload(input: $i) { uploadUrl expiresAt file { id name size contentType status } } }`;
export const COMPLETE = `mutation($id: ID!) { completeFileUpload(fileId: $id) { id status size } }`;
export const FILE = `query($id: ID!) { file(id: $id) { id name size contentType status downloadUrl createdAt uploadedBy { id name } task { id title } } }`;

export interface FileView {
  id: string;
  name: string;
  size: number;
  contentType: string;
  status: string;
  downloadUrl: string | null;
}

/** A client of the files flow, as a frontend would drive it: GraphQL through the gateway, bytes over plain HTTP. */
export class FilesClient {
  constructor(private readonly gatewayUrl: string) {}

  as(u: TestUser, query: string, variables: Record<string, unknown> = {}): Promise<GqlResponse> {
    return as(this.gatewayUrl, u, query, variables);
  }

  async request(u: TestUser, input: { taskId: string; name: string; size: number; contentType: string }) {
    return this.as(u, REQUEST, { i: input });
  }

  /** Requests, PUTs and completes; returns the completed file (or the response that refused). */
  async upload(
    u: TestUser,
    taskId: string,
    name: string,
    body: Buffer,
    contentType: string,
  ): Promise<{ id: string; put: Response; complete: GqlResponse }> {
    const r = data<{ requestFileUpload: { uploadUrl: string; file: { id: string } } }>(
      await this.request(u, { taskId, name, size: body.length, contentType }),
    ).requestFileUpload;
    const put = await fetch(r.uploadUrl, { method: 'PUT', body: new Uint8Array(body), headers: { 'content-type': contentType } });
    const complete = await this.as(u, COMPLETE, { id: r.file.id });
    return { id: r.file.id, put, complete };
  }

  async file(u: TestUser, id: string): Promise<FileView | null> {
    return data<{ file: FileView | null }>(await this.as(u, FILE, { id })).file;
  }

  /** Waits until the file leaves SCANNING (or reaches `status`) and returns it. */
  async settled(u: TestUser, id: string, status?: string, timeoutMs = 30_000): Promise<FileView> {
    let last: FileView | null = null;
    await waitFor(
      async () => {
        last = await this.file(u, id);
        return !!last && (status ? last.status === status : last.status !== 'SCANNING');
      },
      `file ${id} to be ${status ?? 'scanned'} (last ${JSON.stringify(last)})`,
      timeoutMs,
    );
    return last!;
  }
}

/** A small valid PNG (1×1). */
export const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
);
