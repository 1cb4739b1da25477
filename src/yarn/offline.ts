/**
 * Yarn's offline settings applied to the attestation sources: with
 * `enableOfflineMode`, or `enableNetwork: false` for a source's host, no
 * request is made and a package with no cached answer fails with
 * SOURCE_OFFLINE, which says that nothing was asked (never "unsigned", never
 * "a bundle failed verification").
 */
import { httpUtils, type Configuration } from '@yarnpkg/core';
import { ErrorCodes, SigstorePluginError } from '../errors';
import type { SourceTransport } from '../sources/types';

/** Why Yarn's configuration forbids a request to `url`, or undefined when it allows it. */
export function networkRefusal(configuration: Configuration, url: string): string | undefined {
  if (configuration.get('enableOfflineMode')) return 'enableOfflineMode is set';
  const target = new URL(url);
  if (!networkEnabled(configuration, target)) return `enableNetwork is false for ${target.hostname}`;
  return undefined;
}

/** Per configuration, whether each host may be asked: Yarn's network settings are sorted and glob-matched per call (~0.1 ms), and asked twice per package. */
const hostsAllowed = new WeakMap<Configuration, Map<string, boolean>>();

function networkEnabled(configuration: Configuration, target: URL): boolean {
  let hosts = hostsAllowed.get(configuration);
  if (!hosts) hostsAllowed.set(configuration, (hosts = new Map()));
  // Keyed by host name: the settings' globs match `url.hostname` and nothing else of the URL.
  let enabled = hosts.get(target.hostname);
  if (enabled === undefined) {
    enabled = httpUtils.getNetworkSettings(target, { configuration }).enableNetwork !== false;
    hosts.set(target.hostname, enabled);
  }
  return enabled;
}

/** Whether any of these sources may not be asked (the install then works from what is cached). */
export function isOffline(configuration: Configuration, urls: Array<string | undefined>): boolean {
  return urls.some((url) => url !== undefined && networkRefusal(configuration, url) !== undefined);
}

/** The transport, refusing with SOURCE_OFFLINE before any request Yarn's configuration forbids. */
export function offlineAware(transport: SourceTransport, configuration: Configuration, subject: string): SourceTransport {
  const refuse = (url: string) => {
    const why = networkRefusal(configuration, url);
    if (why !== undefined) {
      throw new SigstorePluginError(ErrorCodes.SOURCE_OFFLINE, `${subject}: no cached attestation answer for this package, and the network is disabled (${why}); run one install with the network to remember it`, { subject });
    }
  };
  const { registryGetEncoded } = transport;
  return {
    registryGet: (registry, path) => {
      refuse(registry + path);
      return transport.registryGet(registry, path);
    },
    ...(registryGetEncoded && {
      registryGetEncoded: (registry: string, path: string) => {
        refuse(registry + path);
        return registryGetEncoded.call(transport, registry, path);
      },
    }),
    anonymousGet: (url) => {
      refuse(url);
      return transport.anonymousGet(url);
    },
  };
}
