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

"""What SEVFilter and SEVWeigher cost Placement, next to Nova's own query.

A real Placement: openstack-placement's WSGI app and its own database (an
in-memory SQLite), reached through Nova's report client as nova-scheduler
reaches it (Nova's PlacementFixture routes the client's calls into the app
in process: no network time is counted, on either side). It holds N SEV
compute trees as Nova 2025.2 and later lays them out (a root with VCPU,
MEMORY_MB, DISK_GB and a ``<node>_amd_sev`` child with 16
MEM_ENCRYPTION_CONTEXT and HW_CPU_X86_AMD_SEV) and N plain hosts, written
straight into Placement's tables so that 10,000 hosts take seconds.

Then, per size, for 20 new servers in a row, as a fresh scheduler process
(nothing read yet) serves them:

- Nova's own query, as nova-scheduler builds and sends it
  (``ResourceRequest.from_request_spec``, then the report client's
  ``get_allocation_candidates``), timed;
- HostStates built from Nova's answer, each with its candidates;
- SEVFilter.filter_all and SEVWeigher (through Nova's weight handler),
  every HTTP call they make timed, its answer's bytes counted;
- Nova's claim of the first host left, as the scheduler makes it, so that
  the next request sees the slot used.

Once for encrypted (amd-sev) boots, once for plain boots with
``isolate_sev_hosts`` on. Run it with ``tox -e bench-placement``.
"""

import argparse
import importlib.metadata
import statistics
import sys
import time
import types
import uuid
import warnings

warnings.simplefilter('ignore')

import os_resource_classes as orc  # noqa: E402
import os_traits  # noqa: E402
from oslo_utils import uuidutils  # noqa: E402
import sqlalchemy as sa  # noqa: E402

import nova.conf  # noqa: E402
from nova import config  # noqa: E402
from nova import context as nova_context  # noqa: E402
from nova import objects  # noqa: E402
from nova.scheduler.client import report  # noqa: E402
from nova.scheduler import utils as scheduler_utils  # noqa: E402
from nova.scheduler import weights  # noqa: E402
from nova.tests.functional import fixtures as func_fixtures  # noqa: E402
from placement.db.sqlalchemy import models  # noqa: E402
from placement import db_api  # noqa: E402

from sev_scheduler import capacity  # noqa: E402
from sev_scheduler import filters  # noqa: E402
from sev_scheduler import request as sev_request  # noqa: E402
from sev_scheduler.tests.unit import factories  # noqa: E402
from sev_scheduler import weighers  # noqa: E402

CONF = nova.conf.CONF
SIZES = (1000, 5000)
REQUESTS = 20
RAM_MB = 262144
SLOTS = 16
# At most this ratio to Nova's query.
ENCRYPTED_MEAN, ENCRYPTED_FIRST, PLAIN_MEAN = 0.05, 0.25, 0.01


def seed(count):
    """``count`` SEV trees and as many plain hosts, in Placement's tables.

    :returns: the root provider UUIDs, SEV hosts first.
    """
    engine = db_api.get_placement_engine()
    classes = {name: index for index, name in enumerate(orc.STANDARDS)}
    with engine.begin() as conn:
        traits = {row.name: row.id for row in conn.execute(
            sa.text('SELECT id, name FROM traits'))}
        providers, inventories, provider_traits, roots = [], [], [], []
        next_id = 1
        for index in range(2 * count):
            root_id, next_id = next_id, next_id + 1
            root = str(uuid.uuid4())
            roots.append(root)
            providers.append(dict(
                id=root_id, uuid=root, name='host%d' % index, generation=1,
                root_provider_id=root_id, parent_provider_id=None))
            for rc, total in ((orc.VCPU, 64), (orc.MEMORY_MB, RAM_MB),
                              (orc.DISK_GB, 2000)):
                inventories.append(_inventory(root_id, classes[rc], total))
            if index >= count:
                continue
            child_id, next_id = next_id, next_id + 1
            providers.append(dict(
                id=child_id, uuid=str(uuid.uuid4()),
                name='host%d_amd_sev' % index, generation=1,
                root_provider_id=root_id, parent_provider_id=root_id))
            inventories.append(_inventory(
                child_id, classes[orc.MEM_ENCRYPTION_CONTEXT], SLOTS))
            provider_traits.append(dict(
                trait_id=traits[os_traits.HW_CPU_X86_AMD_SEV],
                resource_provider_id=child_id))
        conn.execute(models.ResourceProvider.__table__.insert(), providers)
        conn.execute(models.Inventory.__table__.insert(), inventories)
        conn.execute(models.ResourceProviderTrait.__table__.insert(),
                     provider_traits)
    return roots


def _inventory(provider_id, class_id, total):
    return dict(resource_provider_id=provider_id, resource_class_id=class_id,
                total=total, reserved=0, min_unit=1, max_unit=total,
                step_size=1, allocation_ratio=1.0)


class Meter:
    """Times the report client's GETs while ``on``; counts their bytes."""

    def __init__(self, client):
        self.on = False
        self.calls = self.bytes = 0
        self.seconds = 0.0
        get = client.get

        def timed(url, *args, **kwargs):
            start = time.perf_counter()
            response = get(url, *args, **kwargs)
            if self.on:
                self.seconds += time.perf_counter() - start
                self.calls += 1
                self.bytes += len(response.content)
            return response
        client.get = timed

    def reset(self):
        self.calls = self.bytes = 0
        self.seconds = 0.0


def host_states(alloc_reqs, summaries):
    """HostStates as nova-scheduler builds them from Nova's answer."""
    by_root = {}
    for candidate in alloc_reqs:
        for rp_uuid in candidate['allocations']:
            summary = summaries[rp_uuid]
            by_root.setdefault(summary['root_provider_uuid'], [])
        root = next(summaries[rp]['root_provider_uuid']
                    for rp in candidate['allocations'])
        by_root[root].append(candidate)
    hosts = []
    for root, candidates in by_root.items():
        host = factories.host(root, root, candidates)
        host.total_usable_ram_mb = RAM_MB
        host.free_ram_mb = RAM_MB
        hosts.append(host)
    return hosts


def boot(context, client, meter, spec_obj):
    """One request: (Nova's query seconds, plugin seconds, calls, bytes)."""
    no_mappings = objects.BlockDeviceMappingList()
    sev_request.for_spec(spec_obj, block_device_mappings=no_mappings)
    start = time.perf_counter()
    resources = scheduler_utils.ResourceRequest.from_request_spec(spec_obj)
    alloc_reqs, summaries, version = client.get_allocation_candidates(
        context, resources)
    nova_seconds = time.perf_counter() - start
    hosts = host_states(alloc_reqs, summaries)
    meter.reset()
    meter.on = True
    try:
        passing = list(filters.SEVFilter().filter_all(hosts, spec_obj))
        weighed = weights.HostWeightHandler().get_weighed_objects(
            [weighers.SEVWeigher()], passing, spec_obj)
    finally:
        meter.on = False
    if weighed:
        # Nova claims the first host's first candidate.
        chosen = weighed[0].obj.allocation_candidates[0]
        client.put('/allocations/%s' % uuidutils.generate_uuid(), {
            'allocations': chosen['allocations'], 'project_id': 'p',
            'user_id': 'u', 'consumer_generation': None},
            version=version)
    return nova_seconds, meter.seconds, meter.calls, meter.bytes


def run(context, client, meter, make_spec):
    """REQUESTS boots from a fresh scheduler process: per-boot figures."""
    capacity.CACHE = capacity.Cache()
    return [boot(context, client, meter, make_spec())
            for _ in range(REQUESTS)]


def report_rows(label, rows, target_mean, target_first):
    nova = [row[0] for row in rows]
    plugin = [row[1] for row in rows]
    ratios = [p / n for p, n in zip(plugin, nova)]
    mean_ratio = statistics.mean(plugin) / statistics.mean(nova)
    print('  %-36s Nova %7.1f ms | plugin %6.2f ms, %4.2f calls, %7.0f B '
          '| %.4fx (at most %s: %s)' % (
              label + ', mean of %d' % len(rows),
              statistics.mean(nova) * 1000, statistics.mean(plugin) * 1000,
              statistics.mean(row[2] for row in rows),
              statistics.mean(row[3] for row in rows), mean_ratio,
              target_mean, 'met' if mean_ratio <= target_mean else
              'NOT MET'))
    first = rows[0]
    print('  %-36s Nova %7.1f ms | plugin %6.2f ms, %4d calls, %7d B '
          '| %.4fx (at most %s: %s)' % (
              label + ', first of a new process', first[0] * 1000,
              first[1] * 1000, first[2], first[3], ratios[0], target_first,
              'met' if ratios[0] <= target_first else 'NOT MET'))
    print('  %-36s %s B' % ('  most bytes in one request',
                            max(row[3] for row in rows)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=SIZES,
                        help='SEV hosts (as many plain hosts beside)')
    args = parser.parse_args()
    config.parse_args(['bench'], default_config_files=[],
                      configure_db=False, init_rpc=False)
    print('Python %s, Nova %s, Placement %s; [sev_scheduler] '
          'placement_max_age %d, placement_sample_size %d; Nova\'s '
          '[scheduler] max_placement_results %d' % (
              sys.version.split()[0], importlib.metadata.version('nova'),
              importlib.metadata.version('openstack-placement'),
              CONF.sev_scheduler.placement_max_age,
              CONF.sev_scheduler.placement_sample_size,
              CONF.scheduler.max_placement_results))
    context = nova_context.get_admin_context()
    for size in args.sizes:
        placement = func_fixtures.PlacementFixture()
        placement.setUp()
        try:
            client = report.SchedulerReportClient(
                adapter=types.SimpleNamespace())
            report.PLACEMENTCLIENT = client
            client.get('/traits', version='1.6', global_request_id=None)
            start = time.perf_counter()
            seed(size)
            print('\n%d SEV hosts and %d plain hosts (seeded in %.0f s):'
                  % (size, size, time.perf_counter() - start))
            meter = Meter(client)
            report_rows('encrypted (amd-sev)', run(
                context, client, meter,
                lambda: factories.encrypted_spec(
                    instance_uuid=uuidutils.generate_uuid())),
                ENCRYPTED_MEAN, ENCRYPTED_FIRST)
            CONF.set_override('isolate_sev_hosts', True,
                              group='sev_scheduler')
            report_rows('plain, isolate_sev_hosts', run(
                context, client, meter,
                lambda: factories.spec(
                    instance_uuid=uuidutils.generate_uuid())),
                PLAIN_MEAN, ENCRYPTED_FIRST)
            CONF.clear_override('isolate_sev_hosts', group='sev_scheduler')
        finally:
            placement.cleanUp()
            report.PLACEMENTCLIENT = None


if __name__ == '__main__':
    main()
