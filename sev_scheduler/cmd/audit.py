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

"""``sev-scheduler audit``: what the scheduler could not stop."""

import argparse

from cliff import lister

from sev_scheduler.cmd import base
from sev_scheduler.operators import audit


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError('expected a positive number, not %r'
                                         % text)
    return value


class Audit(base.CloudCommand, lister.Lister):
    """Servers the scheduler could not judge, against what they hold.

    Every server of every project against its flavor, its image's
    properties as written in Glance now, and its Placement allocations:
    an encrypted server without a slot of its model (a rebuild with an
    edited image), a slot held by a server that asks for no encryption or
    by no server at all, an encrypted server on a host that overcommits
    memory, or with a device or bus that cannot work (an admin's forced
    host). One row per finding, with what to do. Needs admin credentials.
    """

    verdicts = ((base.OK, 'no finding'), (base.WARNING, 'findings'))

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        base.add_scheduler_conf_argument(parser)
        parser.add_argument(
            '--page-size', metavar='N', type=_positive,
            default=audit.PAGE_SIZE,
            help='servers asked of Nova per call (default %(default)s)')
        self.add_cloud_arguments(parser)
        return parser

    def take_action(self, parsed_args):
        base.use_scheduler_conf(parsed_args)
        cloud = self.cloud(parsed_args)
        findings = audit.run(cloud, page_size=parsed_args.page_size)
        self.app.LOG.debug('API calls: %s', cloud.calls)
        self.findings = findings
        if not findings:
            # A clean table would be a blank line: say it where scripts
            # reading the output do not look.
            self.app.stderr.write(findings.summary() + '\n')
        return (('Server', 'Name', 'Host', 'Model', 'Kind', 'Problem',
                 'Action'), findings)

    def status(self):
        return base.WARNING if self.findings else base.OK
