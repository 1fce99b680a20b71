/**
 * The macvlan driver's options: Docker's `-o` keys, parsed once into typed options. Planners
 * never see the free-form map. Unknown keys are kept in the network and ignored, as Docker does.
 */
import { invalid } from '../../errors.js';
import type { Network } from '../../model/network.js';
import { OPT_PARENT, parentName, parseParentOption } from '../parent-link.js';

export { OPT_PARENT };
/** `-o macvlan_mode=bridge|private|vepa|passthru`. */
export const OPT_MACVLAN_MODE = 'macvlan_mode';

/** The kernel's macvlan modes (IFLA_MACVLAN_MODE); `bridge` is Docker's default. */
export const MACVLAN_MODES = ['bridge', 'private', 'vepa', 'passthru'] as const;
export type MacvlanMode = (typeof MACVLAN_MODES)[number];

/** Typed macvlan options. */
export interface MacvlanOptions {
  readonly mode: MacvlanMode;
  /** The parent link's name: `-o parent`, or the dummy `dm-<12 hex>` when none was given. */
  readonly parent: string;
  /** True when `-o parent` was not given: the network is internal (Docker's rule). */
  readonly parentless: boolean;
}

/** Parses Docker's macvlan option keys, with Docker's messages. Pure. */
export function parseMacvlanOptions(network: Network): MacvlanOptions {
  const mode = network.options[OPT_MACVLAN_MODE] ?? '';
  if (mode !== '' && !(MACVLAN_MODES as readonly string[]).includes(mode)) {
    throw invalid(`requested macvlan mode '${mode}' is not valid, 'bridge' mode is the macvlan driver default`);
  }
  parseParentOption('macvlan', network);
  return {
    mode: mode === '' ? 'bridge' : (mode as MacvlanMode),
    parent: parentName('macvlan', network),
    parentless: (network.options[OPT_PARENT] ?? '') === '',
  };
}
