// Test-only (never shipped): the parent side of SigillTestPage (see page-child.sys.mjs); it only relays.
/* global JSWindowActorParent */
export class SigillTestPageParent extends JSWindowActorParent {}
