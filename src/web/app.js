"use strict"; /* EventSource */
