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

"""``sev-scheduler check-request``: would SEVFilter schedule this request?

Offline: from flavor extra specs and image properties, given as K=V or as
the JSON of ``openstack flavor show -f json`` / ``openstack image show -f
json``, runs the filter's own request-level logic and says whether the
request asks for memory encryption, which model, and every reason it would
be refused. Host capacity and a server's block device mappings are not
known offline: capacity is the scheduler's to judge, IDE volumes are not
seen.
"""

import argparse
import json
import re

from cliff import show

from sev_scheduler.cmd import base
from sev_scheduler.operators import requests

# How older openstack clients print properties: "a='1', b='2'".
_QUOTED_PROPERTY = re.compile(r"\s*([^=,]+?)='((?:[^'\\]|\\.)*)'\s*(?:,|$)")


def _key_value(text):
    key, sep, value = text.partition('=')
    if not sep or not key:
        raise argparse.ArgumentTypeError('expected KEY=VALUE, not %r' % text)
    return key, value


def _properties(path, what):
    """The properties in a file of ``openstack <what> show -f json``."""
    try:
        with open(path) as json_file:
            shown = json.load(json_file)
    except OSError as error:
        raise ValueError('cannot read the %s JSON %s: %s'
                         % (what, path, error.strerror))
    except ValueError as error:
        raise ValueError('the %s JSON %s is not valid JSON: %s'
                         % (what, path, error))
    if not isinstance(shown, dict):
        raise ValueError('the %s JSON %s is not an object, as "openstack %s '
                         'show -f json" prints' % (what, path, what))
    properties = shown.get('properties') or {}
    if isinstance(properties, str):
        properties = dict(_QUOTED_PROPERTY.findall(properties))
    if not isinstance(properties, dict):
        raise ValueError('the %s JSON %s has properties Nova cannot read'
                         % (what, path))
    return shown.get('name') or what, dict(properties)


class CheckRequest(base.Command, show.ShowOne):
    """Say whether SEVFilter would schedule a flavor and image, and why not."""

    verdicts = ((base.OK, 'would be scheduled (given a host with a free '
                          'slot)'),
                (base.FAILURE, 'refused'))

    def get_description(self):
        return '%s\n\n%s' % (super().get_description(), base.UNSEEN_PATHS)

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--flavor-json', metavar='FILE',
            help='output of "openstack flavor show -f json"')
        parser.add_argument(
            '--image-json', metavar='FILE',
            help='output of "openstack image show -f json"')
        parser.add_argument(
            '--extra-spec', metavar='KEY=VALUE', type=_key_value,
            action='append', default=[],
            help='a flavor extra spec (repeatable; wins over --flavor-json)')
        parser.add_argument(
            '--image-property', metavar='KEY=VALUE', type=_key_value,
            action='append', default=[],
            help='an image property (repeatable; wins over --image-json)')
        base.add_scheduler_conf_argument(parser)
        return parser

    def take_action(self, parsed_args):
        base.use_scheduler_conf(parsed_args)
        flavor_name, extra_specs = (
            _properties(parsed_args.flavor_json, 'flavor')
            if parsed_args.flavor_json else ('command-line', {}))
        image_name, image_properties = (
            _properties(parsed_args.image_json, 'image')
            if parsed_args.image_json else ('command-line', {}))
        extra_specs.update(parsed_args.extra_spec)
        image_properties.update(parsed_args.image_property)

        request = requests.build(extra_specs, image_properties,
                                 flavor_name=flavor_name,
                                 image_name=image_name)
        reasons = requests.refusals(request)
        self.refused = bool(reasons)
        encryption = request.encryption
        return (('Encrypted', 'Model', 'Devices', 'Verdict', 'Reasons'),
                ('yes' if encryption.requested else 'no',
                 encryption.model or '-',
                 requests.device_verdicts(request),
                 'refused' if reasons else 'would be scheduled',
                 reasons))

    def status(self):
        return base.FAILURE if self.refused else base.OK
