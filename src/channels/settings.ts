// Reading a channel setting that a Python port may set as a class attribute.
//
// A TypeScript subclass that redeclares such a setting without an initialiser (`encoding!:
// string;`) gets an own property holding undefined (useDefineForClassFields), which would
// hide both the library's default and a value the port put on its prototype. Treating an own
// undefined as "not set" makes that declaration harmless.

/** `obj[key]`, or, when that is undefined, the nearest defined value up the prototype chain. */
export function setting<T extends object, K extends keyof T>(obj: T, key: K): T[K] {
  const v = obj[key];
  if (v !== undefined) return v;
  for (let p = Object.getPrototypeOf(obj) as T | null; p !== null; p = Object.getPrototypeOf(p) as T | null) {
    const d = Object.getOwnPropertyDescriptor(p, key);
    if (d !== undefined && 'value' in d && d.value !== undefined) return d.value as T[K];
  }
  return v;
}
