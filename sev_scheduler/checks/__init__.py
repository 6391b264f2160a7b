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

"""Request checks: what memory encryption cannot be combined with.

Each check is a stevedore plugin in the ``sev_scheduler.checks`` namespace,
one module each, enabled by name in ``[sev_scheduler] checks``.
"""

import stevedore

NAMESPACE = 'sev_scheduler.checks'


def available():
    """Names of every check installed in the namespace."""
    return sorted(stevedore.ExtensionManager(NAMESPACE).names())


def load(names):
    """Load the named checks, in the order given.

    :raises ValueError: naming the option and the accepted values when a name
        is not an installed check.
    """
    def missing(unknown):
        raise ValueError(
            "[sev_scheduler] checks: unknown check(s) %s; accepted values: "
            "%s" % (', '.join(sorted(unknown)), ', '.join(available())))

    manager = stevedore.NamedExtensionManager(
        NAMESPACE, names, invoke_on_load=True, name_order=True,
        on_missing_entrypoints_callback=missing,
        on_load_failure_callback=_load_failed)
    return [extension.obj for extension in manager]


def _load_failed(manager, entrypoint, error):
    raise ValueError("[sev_scheduler] checks: check %s cannot be loaded: %s"
                     % (entrypoint.name, error)) from error
