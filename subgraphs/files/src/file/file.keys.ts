/** Keys are made by the service only: `uploads/<project>/<file>`, `files/…`, `quarantine/…`. */
export const KEY_RE = /^(uploads|files|quarantine)\/[0-9a-f-]{36}\/[0-9a-f-]{36}$/;

export const uploadKey = (projectId: string, fileId: string) => `uploads/${projectId}/${fileId}`;
export const fileKey = (projectId: string, fileId: string) => `files/${projectId}/${fileId}`;
export const quarantineKey = (projectId: string, fileId: string) => `quarantine/${projectId}/${fileId}`;
