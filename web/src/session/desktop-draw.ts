// Draws a `view` session's framebuffer updates (src/protocols/vnc/framebuffer.ts) on a canvas, in order: the UI's
// desktop view and the benchmark's page both use it. JPEG rectangles decode asynchronously: an update's start decoding
// together, and each is drawn in its place in the order, so what follows it waits.
import { decodeViewUpdate, type ViewOperation } from '../../../src/protocols/vnc/framebuffer.ts';
import { expandIndexed } from '../../../src/protocols/vnc/updates.ts';

/**
 * A JPEG rectangle decoded off the page's thread: WebCodecs' ImageDecoder where the browser has it (no Blob, whose
 * bytes travel to the browser's blob store and back), createImageBitmap of a Blob elsewhere. Close it once drawn.
 * A VNC server's JPEG carries no colour profile, so the decoder is told to convert no colour space.
 */
async function decodeJpeg(data: Uint8Array): Promise<(ImageBitmap | VideoFrame) & { close(): void }> {
  if (typeof ImageDecoder === 'undefined') return createImageBitmap(new Blob([data as BlobPart], { type: 'image/jpeg' }));
  const decoder = new ImageDecoder({ data: data as Uint8Array<ArrayBuffer>, type: 'image/jpeg', colorSpaceConversion: 'none' });
  try {
    return (await decoder.decode()).image;
  } finally {
    decoder.close();
  }
}

export class DesktopPainter {
  private readonly g: CanvasRenderingContext2D;
  private chain: Promise<void> = Promise.resolve();
  /** Where indexed rectangles are expanded to RGBA (putImageData copies it), grown to the largest so far. */
  private scratch = new Uint8Array(0);

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.g = canvas.getContext('2d', { alpha: false })!;
  }

  /** Queues work after everything queued before it. */
  private then(fn: () => void | Promise<void>): Promise<void> {
    this.chain = this.chain.then(fn);
    return this.chain;
  }

  /** A new desktop size, in order with the updates around it. */
  resize(width: number, height: number): Promise<void> {
    return this.then(() => {
      if (this.canvas.width !== width || this.canvas.height !== height) {
        this.canvas.width = width;
        this.canvas.height = height;
      }
    });
  }

  /**
   * Draws one update; resolves once it is on the canvas, with the pixels it painted (a copy counts its area). Its JPEG
   * rectangles start decoding at once, side by side.
   */
  draw(bytes: Uint8Array): Promise<number> {
    const ops = decodeViewUpdate(bytes);
    const images = ops.map((op) => (op.op === 'jpeg' ? decodeJpeg(op.data) : undefined));
    let area = 0;
    for (const op of ops) if (op.op !== 'cursor') area += op.width * op.height;
    return this.then(async () => {
      for (let i = 0; i < ops.length; i++) {
        const image = images[i];
        if (image) {
          const decoded = await image;
          this.g.drawImage(decoded, ops[i].x, ops[i].y, ops[i].width, ops[i].height);
          decoded.close();
        } else this.op(ops[i]);
      }
    }).then(() => area);
  }

  private op(op: ViewOperation): void {
    const g = this.g;
    if (op.op === 'pixels' || op.op === 'indexed') {
      if (op.op === 'indexed' && this.scratch.length < op.width * op.height * 4) this.scratch = new Uint8Array(op.width * op.height * 4);
      const rgba = op.op === 'pixels' ? op.rgba : expandIndexed(op, op.width, op.height, this.scratch);
      const data = new Uint8ClampedArray(rgba.buffer as ArrayBuffer, rgba.byteOffset, rgba.length);
      g.putImageData(new ImageData(data, op.width, op.height), op.x, op.y);
    } else if (op.op === 'fill') {
      g.fillStyle = `rgb(${op.r},${op.g},${op.b})`;
      g.fillRect(op.x, op.y, op.width, op.height);
    } else if (op.op === 'copy') g.drawImage(this.canvas, op.srcX, op.srcY, op.width, op.height, op.x, op.y, op.width, op.height);
    else if (op.op === 'cursor') {
      if (op.width === 0 || op.height === 0) this.canvas.style.cursor = 'default';
      else {
        const cc = document.createElement('canvas');
        cc.width = op.width;
        cc.height = op.height;
        cc.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(op.rgba), op.width, op.height), 0, 0);
        this.canvas.style.cursor = `url(${cc.toDataURL()}) ${op.x} ${op.y}, default`;
      }
    }
  }
}
