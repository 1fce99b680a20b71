/**
 * The ipvlan driver's options: Docker's `-o` keys, parsed once into typed options. Planners
 * never see the free-form map. Unknown keys are kept in the network and ignored, as Docker does.
 */
import { invalid } from '../../errors.js';
import type { Network } from '../../model/network.js';
import { OPT_PARENT, parentName, parseParentOption } from '../parent-link.js';

export { OPT_PARENT };
/** `-o ipvlan_mode=l2|l3|l3s`. */
export const OPT_IPVLAN_MODE = 'ipvlan_mode';
/** `-o ipvlan_flag=bridge|private|vepa`. */
export const OPT_IPVLAN_FLAG = 'ipvlan_flag';

/** The kernel's ipvlan modes (IFLA_IPVLAN_MODE); `l2` is Docker's default. */
export const IPVLAN_MODES = ['l2', 'l3', 'l3s'] as const;
export type IpvlanMode = (typeof IPVLAN_MODES)[number];
/** The kernel's ipvlan flags (IFLA_IPVLAN_FLAGS); `bridge` is Docker's default. */
export const IPVLAN_FLAGS = ['bridge', 'private', 'vepa'] as const;
export type IpvlanFlag = (typeof IPVLAN_FLAGS)[number];

/** Typed ipvlan options. */
export interface IpvlanOptions {
  readonly mode: IpvlanMode;
  readonly flag: IpvlanFlag;
  /** The parent link's name: `-o parent`, or the dummy `di-<12 hex>` when none was given. */
  readonly parent: string;
  /** True when `-o parent` was not given: the network is internal (Docker's rule). */
  readonly parentless: boolean;
}

/** Parses Docker's ipvlan option keys, with Docker's messages. Pure. */
export function parseIpvlanOptions(network: Network): IpvlanOptions {
  const mode = network.options[OPT_IPVLAN_MODE] ?? '';
  if (mode !== '' && !(IPVLAN_MODES as readonly string[]).includes(mode)) {
    throw invalid(`requested ipvlan mode '${mode}' is not valid, 'l2' mode is the ipvlan driver default`);
  }
  const flag = network.options[OPT_IPVLAN_FLAG] ?? '';
  if (flag !== '' && !(IPVLAN_FLAGS as readonly string[]).includes(flag)) {
    throw invalid(`requested ipvlan flag '${flag}' is not valid, 'bridge' is the ipvlan driver default`);
  }
  parseParentOption('ipvlan', network);
  return {
    mode: mode === '' ? 'l2' : (mode as IpvlanMode),
    flag: flag === '' ? 'bridge' : (flag as IpvlanFlag),
    parent: parentName('ipvlan', network),
    parentless: (network.options[OPT_PARENT] ?? '') === '',
  };
}
