/** What a finished upload reports. */
export interface UploadStats {
  /** Commands published, retransmissions included. */
  commandsPublished: number;
  /** Payload bytes published (segments, retransmissions included, and init). */
  bytesPublished: number;
  /** Bytes a resume record said were already confirmed, so not sent again. */
  resumedBytes: number;
}

export interface UploadResult {
  /** Where the cluster stored the file (its form depends on the storage backend). */
  location: string;
  clientId: string;
  fileId: string;
  size: number;
  /** SHA-256 of the file, lower-case hex. */
  checksum: string;
  stats: UploadStats;
}
