/** What the WebAssembly fast paths share: an instance of an embedded module (compiled once, each instance with its own memory) and growing that memory. */

// Node has WebAssembly; TypeScript declares it only in its DOM libraries, so the part used here is declared here.
declare global {
  namespace WebAssembly {
    class Module {
      constructor(bytes: Uint8Array);
    }
    class Instance {
      constructor(module: Module, imports: object);
      readonly exports: unknown;
    }
    interface Memory {
      readonly buffer: ArrayBuffer;
      grow(pages: number): number;
    }
    interface Global {
      value: number;
    }
  }
}

/** The exports every module has: its memory, and where the free memory after its data begins. */
export interface BaseExports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
}

const PAGE = 65536;
const compiled = new Map<string, WebAssembly.Module>();

/** A new instance of the module embedded as base64, and the first 16-byte-aligned free address of its memory. */
export function instantiate<T extends BaseExports>(base64: string): { exports: T; base: number } {
  let module = compiled.get(base64);
  if (module === undefined) compiled.set(base64, (module = new WebAssembly.Module(Buffer.from(base64, 'base64'))));
  const exports = new WebAssembly.Instance(module, {}).exports as T;
  return { exports, base: (exports.__heap_base.value + 15) & ~15 };
}

/** Grows the memory to at least `bytes` and returns a view of all of it (growing detaches older views). */
export function memoryOf(memory: WebAssembly.Memory, bytes: number): Uint8Array {
  if (bytes > memory.buffer.byteLength) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
  return new Uint8Array(memory.buffer);
}
