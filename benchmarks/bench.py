#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""How fast SEVFilter and SEVWeigher are, next to Nova's own filters.

Builds 1,000, 10,000 and 50,000 hosts with allocation candidates as Nova
holds them (half with slots on the compute node's provider, as before Nova
2025.2, half on a child provider), then times, over the same hosts and in
the same run, per request:

- SEVFilter.filter_all for an encrypted and a plain request;
- SEVWeigher for an encrypted and a plain request (Nova's weight handler,
  normalisation and sorting included);
- Nova's PciPassthroughFilter (for a request with one PCI device, every
  host having one) and ImagePropertiesFilter.

It prints milliseconds per request (best of several runs), each ratio to
PciPassthroughFilter, peak memory allocated during one request, and the
Placement calls made per request. Run it with ``tox -e bench``.
"""

import argparse
import platform
import time
import tracemalloc
import warnings

warnings.simplefilter('ignore')

from oslo_utils import uuidutils  # noqa: E402

from nova import objects  # noqa: E402
from nova.pci import stats as pci_stats  # noqa: E402
from nova.scheduler.client import report  # noqa: E402
from nova.scheduler.filters import image_props_filter  # noqa: E402
from nova.scheduler.filters import pci_passthrough_filter  # noqa: E402
from nova.scheduler import weights  # noqa: E402

from sev_scheduler import capacity  # noqa: E402
from sev_scheduler import filters  # noqa: E402
from sev_scheduler import request as sev_request  # noqa: E402
from sev_scheduler.tests.unit import factories  # noqa: E402
from sev_scheduler import weighers  # noqa: E402

SIZES = (1000, 10000, 50000)
PCI_DEVICE = {'vendor_id': '8086', 'product_id': '1520'}


class CountingPlacement:
    """Placement's answers for the whole cloud, built once, calls counted."""

    def __init__(self, hosts):
        self.calls = 0
        sev_trait = capacity.MODEL_TRAITS['amd-sev']
        self.summaries = {'provider_summaries': {
            slot: {'resources': {capacity.SLOT: {'capacity': 16,
                                                 'used': index % 16}},
                   'traits': [sev_trait], 'root_provider_uuid': host.uuid}
            for index, (host, slot) in enumerate(hosts)}}
        self.providers = {'resource_providers': [
            {'uuid': slot, 'root_provider_uuid': host.uuid}
            for host, slot in hosts]}

    def get(self, url, version=None, global_request_id=None):
        self.calls += 1
        body = (self.providers if url.startswith('/resource_providers')
                else self.summaries)
        return type('Response', (), {'status_code': 200,
                                     'json': lambda self: body})()


def build_hosts(count):
    """Hosts with one candidate each, a PCI device, both slot layouts."""
    pools = objects.PciDevicePoolList(objects=[objects.PciDevicePool(
        vendor_id=PCI_DEVICE['vendor_id'],
        product_id=PCI_DEVICE['product_id'], numa_node=None, tags={},
        count=4)])
    stats = pci_stats.PciDeviceStats(objects.NUMATopology(cells=[]),
                                     stats=pools)
    hosts, slots = [], []
    for index in range(count):
        root = uuidutils.generate_uuid()
        slot = root if index % 2 else uuidutils.generate_uuid()
        host = factories.host('host%d' % index, root,
                              [factories.candidate(root, slot)])
        host.pci_stats = stats
        host.supported_instances = [('x86_64', 'kvm', 'hvm')]
        host.hypervisor_type = 'QEMU'
        host.hypervisor_version = 8002000
        hosts.append(host)
        slots.append((host, slot))
    return hosts, CountingPlacement(slots)


def encrypted_spec():
    return factories.encrypted_spec(
        image_properties={'hw_architecture': 'x86_64'})


def plain_spec():
    return factories.spec(image_properties={'hw_architecture': 'x86_64'})


def pci_spec():
    return factories.spec(
        image_properties={'hw_architecture': 'x86_64'},
        pci_requests=[objects.InstancePCIRequest(
            count=1, spec=[PCI_DEVICE],
            request_id=uuidutils.generate_uuid())])


def filter_run(host_filter, make_spec):
    def run(hosts):
        spec_obj = make_spec()
        # A new boot's block device mappings come from its BuildRequest;
        # the benchmark has no database, so it hands them over.
        sev_request.for_spec(
            spec_obj, block_device_mappings=objects.BlockDeviceMappingList())
        return list(host_filter.filter_all(hosts, spec_obj))
    return run


def weigher_run(make_spec):
    handler = weights.HostWeightHandler()
    weigher = weighers.SEVWeigher()

    def run(hosts):
        return handler.get_weighed_objects([weigher], hosts, make_spec())
    return run


def measure(run, hosts, placement, repeats):
    """(best ms, peak MiB, Placement calls) per request."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(hosts)
        times.append(time.perf_counter() - start)
    placement.calls = 0
    tracemalloc.start()
    run(hosts)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return min(times) * 1000, peak / 2 ** 20, placement.calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=SIZES)
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args()

    contenders = [
        ('PciPassthroughFilter (PCI request)', filter_run(
            pci_passthrough_filter.PciPassthroughFilter(), pci_spec)),
        ('ImagePropertiesFilter', filter_run(
            image_props_filter.ImagePropertiesFilter(), plain_spec)),
        ('SEVFilter, encrypted', filter_run(filters.SEVFilter(),
                                            encrypted_spec)),
        ('SEVFilter, plain', filter_run(filters.SEVFilter(), plain_spec)),
        ('SEVWeigher, encrypted', weigher_run(encrypted_spec)),
        ('SEVWeigher, plain', weigher_run(plain_spec)),
    ]
    print('Machine: %s, %s, Python %s' % (
        platform.machine(), platform.processor() or platform.platform(),
        platform.python_version()))
    for size in args.sizes:
        hosts, placement = build_hosts(size)
        report.report_client_singleton = lambda: placement
        repeats = max(2, args.repeats * 1000 // size)
        print('\n%d hosts (best of %d runs)' % (size, repeats))
        print('%-36s %10s %8s %9s %10s'
              % ('', 'ms/req', 'x PCI', 'peak MiB', 'Placement'))
        baseline = None
        for name, run in contenders:
            ms, peak, calls = measure(run, hosts, placement, repeats)
            baseline = baseline or ms
            print('%-36s %10.2f %8.3f %9.1f %10d' % (
                name, ms, ms / baseline, peak, calls))


if __name__ == '__main__':
    main()
