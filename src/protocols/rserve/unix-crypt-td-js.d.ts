// Types for unix-crypt-td-js: DES-based crypt(3), as Rserve's "ARuc" login uses it.
declare module 'unix-crypt-td-js' {
  export default function crypt(password: string | number[], salt: string | number[], returnBytes?: false): string;
}
