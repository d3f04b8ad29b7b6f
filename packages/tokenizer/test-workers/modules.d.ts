declare module "*.sgtk" {
  const bytes: ArrayBuffer;
  export default bytes;
}
declare module "*.gz" {
  const bytes: ArrayBuffer;
  export default bytes;
}
