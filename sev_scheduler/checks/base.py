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

"""The interface a request check implements."""

import abc


class RequestCheck(metaclass=abc.ABCMeta):
    """One thing an encrypted guest cannot be combined with.

    A check looks at one request that asks for AMD memory encryption and
    names what in it cannot work. It runs once per request, never per host.
    """

    @abc.abstractmethod
    def conflicts(self, request):
        """Return what in the request memory encryption cannot be used with.

        :param request: a :class:`sev_scheduler.request.Request` asking for
            memory encryption.
        :returns: a list of phrases completing "Memory encryption cannot be
            used with ...", e.g. ``["PCI passthrough: flavor alias 'gpu'"]``;
            empty when the check has nothing to object to.
        """
